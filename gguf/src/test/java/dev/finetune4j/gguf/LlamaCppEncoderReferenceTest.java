package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GGUF export of encoder classifiers against llama.cpp itself: each {@link EncoderReferenceCase}'s file is the
 * one llama.cpp read (same SHA-256), llama.cpp found rank pooling and the classifier's labels, tokenized each text
 * as the classifier's tokenizer does, and scored each row as the classifier does (llama.cpp's GELU is its tanh
 * approximation read from an f16 table, hence the tolerance; Q8_0 rounds the matrices too).
 */
class LlamaCppEncoderReferenceTest {
    /**
     * Largest score differences seen: f32 3.0e-4 (BERT) and 3.2e-4 (XLM-RoBERTa), f16 2.5e-4 (RoBERTa) and 5.9e-4
     * (XLM-RoBERTa), q8_0 1.2e-2 (q8_0's 8-bit matrices).
     */
    private static final double F32_TOLERANCE = 5e-4;
    private static final double F16_TOLERANCE = 1e-3;
    private static final double Q8_0_TOLERANCE = 3e-2;

    static final List<EncoderReferenceCase> CASES = EncoderReferenceCase.ALL;

    @ParameterizedTest(name = "{0}")
    @FieldSource("CASES")
    void llamaCppScoresTheExportAsTheClassifierDoes(EncoderReferenceCase c, @TempDir Path dir) throws Exception {
        JsonNode fixture = fixture(c.name());
        Path folder = c.folder(dir.resolve("model"));
        try (EncoderClassifier classifier = EncoderReferenceCase.classifier(folder);
             HfTokenizer tokenizer = HfTokenizer.load(folder)) {
            Path file = GgufExporter.export(classifier, tokenizer, dir.resolve(c.name() + ".gguf"), c.type(),
                    GgufProgress.NONE);
            assertEquals(fixture.path("sha256").asText(), sha256(file), "the export is not the file llama.cpp read");
            assertEquals(EncoderMapping.RANK_POOLING, fixture.path("pooling_type").asInt());
            assertEquals(classifier.classifierConfig().id2label(),
                    new ObjectMapper().convertValue(fixture.path("labels"), List.class));

            long[][] rows = c.rows(tokenizer);
            for (int i = 0; i < rows.length; i++) {
                assertArrayEquals(rows[i], longs(fixture.path("texts").get(i)),
                        "llama.cpp tokenized '" + c.texts().get(i) + "' otherwise");
                assertArrayEquals(rows[i], longs(fixture.path("rows").get(i).path("ids")));
            }
            double tolerance = c.type() == GgufType.Q8_0 ? Q8_0_TOLERANCE : c.type() == GgufType.F16 ? F16_TOLERANCE : F32_TOLERANCE;
            double worst = 0;
            for (int i = 0; i < rows.length; i++) {
                float[] ours = classifier.logits(new long[][]{rows[i]}, null)[0];
                JsonNode theirs = fixture.path("rows").get(i).path("scores");
                assertEquals(ours.length, theirs.size());
                for (int label = 0; label < ours.length; label++) {
                    worst = Math.max(worst, Math.abs(ours[label] - theirs.get(label).asDouble()));
                }
            }
            System.out.printf("%s: llama.cpp's scores within %.3g of ours%n", c.name(), worst);
            assertTrue(worst <= tolerance, c.name() + ": llama.cpp's scores are " + worst + " from ours");
        }
    }

    private static JsonNode fixture(String name) throws Exception {
        try (InputStream in = LlamaCppEncoderReferenceTest.class.getResourceAsStream("/llamacpp/" + name + ".json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
