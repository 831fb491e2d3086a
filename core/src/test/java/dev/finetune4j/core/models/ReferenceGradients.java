package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A reference folder's {@code grad.NAME} tensors (d loss / d NAME of the next-token loss over its {@code input_ids},
 * from PyTorch's autograd) against this library's backward.
 */
final class ReferenceGradients {
    private ReferenceGradients() {
    }

    /**
     * The gradients of the reference folder on {@code device}, within 1e-4 of each gradient's largest |value|.
     *
     * @param family the reference folder's name under references/
     * @param device where the model runs
     */
    static void assertMatch(String family, Device device) throws Exception {
        assertMatch(family, device, 1e-4);
    }

    /**
     * {@link #assertMatch(String, Device)} within {@code tolerance} of each gradient's largest |value|.
     *
     * @param family the reference folder's name under references/
     * @param device where the model runs
     * @param tolerance the largest difference allowed, relative to the largest |expected|
     */
    static void assertMatch(String family, Device device, double tolerance) throws Exception {
        String dir = "references/" + family;
        ReferenceData ref = ReferenceData.load(dir + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir), ReferenceData.f32(device));
             var scope = TensorScope.open()) {
            Map<String, Tensor> weights = lm.stateDict();
            int checked = 0;
            for (String key : ref.floats.keySet()) {
                if (key.startsWith("grad.")) {
                    weights.get(key.substring("grad.".length())).requiresGrad(true);
                    checked++;
                }
            }
            assertTrue(checked >= 4, family + ": the fixture holds " + checked + " gradients");
            String what = family + " on " + device;
            Autograd.backward(nextTokenLoss(lm, ids));
            for (Map.Entry<String, float[]> e : ref.floats.entrySet()) {
                if (e.getKey().startsWith("grad.")) {
                    Tensor w = weights.get(e.getKey().substring("grad.".length()));
                    assertClose(e.getValue(), w.grad().toFloatArray(), tolerance, what + " " + e.getKey());
                }
            }
        }
    }

    /** Hugging Face's causal-LM loss: logits of position t predict token t+1, mean over all positions. */
    static Tensor nextTokenLoss(LanguageModel lm, long[][] ids) {
        return nextTokenLoss(lm.forward(ModelInput.of(ids, null)), ids, lm.vocabSize());
    }

    /** Hugging Face's causal-LM loss of given logits (B, T, vocab) over {@code ids}. */
    static Tensor nextTokenLoss(Tensor logits, long[][] ids, int vocab) {
        int b = ids.length;
        int t = ids[0].length;
        int[] labels = new int[b * (t - 1)];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t - 1; j++) {
                labels[i * (t - 1) + j] = (int) ids[i][j + 1];
            }
        }
        return CrossEntropy.loss(logits.slice(1, 0, t - 1).reshape(b * (t - 1), vocab), labels);
    }

    /** Largest difference within {@code tolerance} of the largest |expected|. */
    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + " size");
        double scale = 0;
        double worst = 0;
        int where = -1;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs(expected[i] - actual[i]);
            if (d > worst) {
                worst = d;
                where = i;
            }
        }
        assertTrue(scale > 0, what + ": the reference gradient is zero");
        assertTrue(worst <= tolerance * scale, what + ": largest difference " + worst + " at " + where + " (expected "
                + (where < 0 ? "" : expected[where] + ", got " + actual[where]) + "), largest |gradient| " + scale);
    }
}
