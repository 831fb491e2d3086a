package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ClassificationDataset#fromTexts} tokenizes as transformers' {@code tokenizer(text, truncation=True,
 * max_length=n)}: against ids worked out by hand from core's test tokenizers (src/test/resources/tokenizer/README.md).
 */
class ClassificationDatasetTest {
    // bert-wordpiece: [CLS] 2, [SEP] 3, my 8, refund 6, ##s 7, bill 9, ##ing 10, is 11, wrong 12, ! 13, please 14, , 15
    private static final long CLS = 2;
    private static final long SEP = 3;

    @Test
    void bertRowsStartWithClsAndEndWithSepWhenCut(@TempDir Path tmp) throws Exception {
        try (HfTokenizer bert = HfTokenizer.load(tokenizer("bert-wordpiece", tmp))) {
            ClassificationDataset data = ClassificationDataset.fromTexts(List.of("My refunds, please!", "billing is wrong"),
                    new float[]{1, 0}, bert, 5);
            assertArrayEquals(new long[]{CLS, 8, 6, 7, SEP}, data.get(0).inputIds(), "cut to 3 text tokens, [SEP] kept");
            assertArrayEquals(new long[]{CLS, 9, 10, 11, SEP}, data.get(1).inputIds());
            assertEquals(1f, data.get(0).label());
            var tooShort = assertThrows(IllegalArgumentException.class,
                    () -> ClassificationDataset.fromTexts(List.of("my bill"), new float[]{0}, bert, 2));
            assertTrue(tooShort.getMessage().contains("at least 3"), tooShort.getMessage());
        }
    }

    @Test
    void llamaStyleRowsStartWithBosAndMultiLabelRowsKeepTheirVectors(@TempDir Path tmp) throws Exception {
        try (HfTokenizer llama = HfTokenizer.load(tokenizer("sentencepiece-bos", tmp))) {
            // "▁hello" 358, "▁world" 368, BOS 1
            ClassificationDataset data = ClassificationDataset.fromTexts(List.of("hello world", "hello"),
                    new float[][]{{1, 0, 1}, {0, 0, 0}}, llama, 16);
            assertArrayEquals(new long[]{1, 358, 368}, data.get(0).inputIds());
            assertArrayEquals(new long[]{1, 358}, data.get(1).inputIds());
            assertArrayEquals(new float[]{1, 0, 1}, data.get(0).labels());
            assertArrayEquals(new float[]{0, 0, 0}, data.get(1).labels());
        }
    }

    @Test
    void aTokenizerWithoutSpecialTokensOnlyCutsAndEmptyTextsAreRefused() {
        var bytes = new ByteLevelTokenizer();
        ClassificationDataset data = ClassificationDataset.fromTexts(List.of("abcdef"), new float[]{2}, bytes, 4);
        assertArrayEquals(new long[]{'a', 'b', 'c', 'd'}, data.get(0).inputIds());
        var empty = assertThrows(IllegalArgumentException.class,
                () -> ClassificationDataset.fromTexts(List.of("a", ""), new float[]{0, 1}, bytes, 4));
        assertTrue(empty.getMessage().contains("text 1 has no token"), empty.getMessage());
        var count = assertThrows(IllegalArgumentException.class,
                () -> ClassificationDataset.fromTexts(List.of("a"), new float[][]{{1}, {0}}, bytes, 4));
        assertTrue(count.getMessage().contains("1 texts but 2 label vectors"), count.getMessage());
    }

    /** core's test tokenizer {@code name} copied out of its test jar (a jar entry has no file path). */
    private static Path tokenizer(String name, Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
            try (InputStream in = ClassificationDatasetTest.class.getResourceAsStream("/tokenizer/" + name + "/" + file)) {
                Files.copy(in, dir.resolve(file));
            }
        }
        return dir;
    }
}
