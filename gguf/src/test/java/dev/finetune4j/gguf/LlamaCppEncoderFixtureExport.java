package dev.finetune4j.gguf;

import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Not a check: writes each {@link EncoderReferenceCase}'s GGUF, texts and rows of ids into the folder named by
 * {@code -Dgguf.encoder.out}, for tools/reference/gguf_llamacpp_classify.sh to run llama.cpp on. Skipped otherwise.
 */
@EnabledIfSystemProperty(named = "gguf.encoder.out", matches = ".+")
class LlamaCppEncoderFixtureExport {
    @Test
    void writeTheEncoderCases() throws Exception {
        Path out = Path.of(System.getProperty("gguf.encoder.out"));
        Files.createDirectories(out);
        for (EncoderReferenceCase c : EncoderReferenceCase.ALL) {
            Path folder = c.folder(out.resolve("src-" + c.name()));
            try (EncoderClassifier classifier = EncoderReferenceCase.classifier(folder);
                 HfTokenizer tokenizer = HfTokenizer.load(folder)) {
                GgufExporter.export(classifier, tokenizer, out.resolve(c.name() + ".gguf"), c.type(), GgufProgress.NONE);
                Files.writeString(out.resolve(c.name() + ".texts"), String.join("\n", c.texts()) + "\n");
                Files.writeString(out.resolve(c.name() + ".rows"),
                        EncoderReferenceCase.rowsArgument(c.rows(tokenizer)));
            }
        }
    }
}
