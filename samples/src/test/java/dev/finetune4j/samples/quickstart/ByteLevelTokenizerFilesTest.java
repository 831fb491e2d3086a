package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The written tokenizer.json, run by Hugging Face's own tokenizers, gives the built-in tokenizer's ids and text. */
class ByteLevelTokenizerFilesTest {

    @Test
    void huggingFaceTokenizersReproduceTheBuiltInTokenizer(@TempDir Path dir) throws Exception {
        ByteLevelTokenizerFiles.write(dir);
        ByteLevelTokenizer ours = new ByteLevelTokenizer();
        String text = "Card [BANK_CARD]: fee?\n  家财险怎么理赔？ tab\there \u0000\u007f é";
        try (HfTokenizer hf = HfTokenizer.load(dir)) {
            assertArrayEquals(ours.encode(text), hf.encode(text));
            assertEquals(text, hf.decode(ours.encode(text)));
            assertEquals(ByteLevelTokenizer.EOS, hf.eosTokenId().orElseThrow());
        }
    }
}
