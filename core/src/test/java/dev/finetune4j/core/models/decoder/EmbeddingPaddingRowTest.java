package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every decoder family's transformers class builds {@code embed_tokens} as {@code nn.Embedding(vocab, hidden,
 * padding_idx=config.pad_token_id)}, whose row {@code padding_idx} torch never trains: a pad id among the attended
 * tokens (a pad token that is also the end-of-text token, as many fine-tunes set it) leaves its row as it was. With
 * {@code pad_token_id} set, that row's gradient is zero and every other row's is the gradient without it; torch counts
 * a negative one from the end and refuses one outside the table.
 */
class EmbeddingPaddingRowTest {
    private static final int PAD = 7;
    private static final int B = 2;
    private static final int T = 12;

    /** Ids with the pad id at attended positions of both rows, each followed by a predicted token. */
    private static long[][] ids() {
        long[][] ids = new long[B][T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                ids[b][t] = t % 4 == 1 ? PAD : (b * 37L + t * 11L + 3) % 250;
            }
        }
        return ids;
    }

    private static int[] labels(long[][] ids) {
        int[] labels = new int[B * T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                labels[b * T + t] = t == T - 1 ? CrossEntropy.IGNORE_INDEX : (int) ids[b][t + 1];
            }
        }
        return labels;
    }

    @Test
    void thePadRowTakesNoGradientAndTheOthersTheirOwn(@TempDir Path tmp) throws Exception {
        float[][] without = embeddingGradient(folderWithPad(tmp.resolve("none"), null));
        float[][] with = embeddingGradient(folderWithPad(tmp.resolve("pad"), PAD));
        assertTrue(largest(without[PAD]) > 0, "the attended pad tokens reach the loss");
        assertArrayEquals(new float[with[PAD].length], with[PAD], "row pad_token_id takes no gradient");
        for (int row = 0; row < with.length; row++) {
            if (row != PAD) {
                assertArrayEquals(without[row], with[row], "row " + row + " takes its gradient as without a pad id");
            }
        }
    }

    @Test
    void aNegativePadIdCountsFromTheEndAndOneOutsideTheTableIsRefused(@TempDir Path tmp) throws Exception {
        int vocab = vocab(folderWithPad(tmp.resolve("v"), null));
        assertEquals(vocab - 1, config(folderWithPad(tmp.resolve("neg"), -1)).paddingRow());
        assertEquals(-1, config(folderWithPad(tmp.resolve("none2"), null)).paddingRow());
        Path outside = folderWithPad(tmp.resolve("out"), vocab);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config(outside));
        assertTrue(e.getMessage().contains("'pad_token_id' = " + vocab) && e.getMessage().contains("config.json"),
                e.getMessage());
    }

    /** The gradient of {@code model.embed_tokens.weight}, by row, after one backward of the mean next-token loss. */
    private static float[][] embeddingGradient(Path dir) {
        try (LanguageModel lm = AutoModel.loadCausalLM(dir); var step = TensorScope.open()) {
            lm.requiresGrad(true);
            long[][] ids = ids();
            Tensor lp = lm.tokenLogProbs(ModelInput.of(ids, null), labels(ids));
            Autograd.backward(CrossEntropy.lossFromLogProbs(lp, labels(ids)));
            Tensor grad = lm.trainableParameters().get("model.embed_tokens.weight").grad();
            float[] flat = grad.toFloatArray();
            int cols = grad.dim(1);
            float[][] rows = new float[grad.dim(0)][];
            for (int r = 0; r < rows.length; r++) {
                rows[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
            }
            return rows;
        }
    }

    /** hf-tiny/llama (an untied head, so the table's gradient is the lookup's alone) with {@code pad} as pad_token_id. */
    private static Path folderWithPad(Path dir, Integer pad) throws Exception {
        Path source = ReferenceData.resource("hf-tiny/llama");
        try (var files = Files.list(source)) {
            ReferenceFolders.copy("hf-tiny/llama", files.map(f -> f.getFileName().toString()).toList(), dir);
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        if (pad == null) {
            config.putNull("pad_token_id");
        } else {
            config.put("pad_token_id", pad);
        }
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config));
        return dir;
    }

    private static double largest(float[] values) {
        double largest = 0;
        for (float v : values) {
            largest = Math.max(largest, Math.abs(v));
        }
        return largest;
    }

    private static DecoderConfig config(Path dir) throws Exception {
        return DecoderConfig.fromJson(new ObjectMapper().readTree(dir.resolve("config.json").toFile()));
    }

    private static int vocab(Path dir) throws Exception {
        return config(dir).vocabSize();
    }
}
