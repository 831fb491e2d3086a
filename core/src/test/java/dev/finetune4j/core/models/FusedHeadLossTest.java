package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.LinearCrossEntropy;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A causal LM's training loss through {@link LanguageModel#tokenLogProbs} (which keeps the logits when all rows fit
 * in one chunk, as here) and through its fused path with chunks of 12 rows ({@link LinearCrossEntropy}, which larger
 * inputs take) against {@code CrossEntropy} of its logits, on the tiny fixtures: an untied lm_head (llama), a tied
 * embedding that gets gradient from the lookup and the head (qwen2, gpt2), Granite's logits scaling, and frozen bf16
 * weights. Every parameter's gradient is equal
 * bit for bit except the head's weight, summed over the tokens chunk by chunk: within 1e-6 of its largest value.
 */
class FusedHeadLossTest {
    private static final int B = 2;
    private static final int T = 20;
    private static final double HEAD_GRAD_RTOL = 1e-6;

    private static long[][] ids() {
        long[][] ids = new long[B][T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                ids[b][t] = (b * 97L + t * 31L + 7) % 256;
            }
        }
        return ids;
    }

    /** Next-token labels with the last position of each row and a few others ignored. */
    private static int[] labels() {
        long[][] ids = ids();
        int[] labels = new int[B * T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                labels[b * T + t] = t == T - 1 || t % 6 == 2 ? CrossEntropy.IGNORE_INDEX : (int) ids[b][t + 1];
            }
        }
        return labels;
    }

    /** Also Granite, whose head divides the hidden states by logits_scaling before the chunked product. */
    @ParameterizedTest
    @ValueSource(strings = {"hf-tiny/llama", "hf-tiny/qwen2", "hf-tiny/gpt2", "references/granite"})
    void everyGradientEqualsTheUnfusedLoss(String dir) {
        Map<String, float[]> unfused = trainStep(dir, (lm, input) -> {
            Tensor logits = lm.forward(input);
            return CrossEntropy.tokenLogProbs(logits.reshape(B * T, logits.dim(2)), labels());
        });
        Map<String, float[]> fused = trainStep(dir, (lm, input) -> lm.tokenLogProbs(input, labels()));
        Map<String, float[]> chunked = trainStep(dir, (lm, input) -> lm.headLogProbs(lm.hiddenStates(input), labels(), 12));
        for (Map<String, float[]> candidate : List.of(fused, chunked)) {
            assertArrayEquals(unfused.get("loss"), candidate.get("loss"), dir + " loss");
            String head = dir.endsWith("llama") || dir.endsWith("granite") ? "lm_head.weight"
                    : dir.endsWith("gpt2") ? "transformer.wte.weight" : "model.embed_tokens.weight";
            for (var e : unfused.entrySet()) {
                if (e.getKey().equals(head)) {
                    assertClose(e.getValue(), candidate.get(head), dir + " " + head);
                } else {
                    assertArrayEquals(e.getValue(), candidate.get(e.getKey()), dir + " gradient of " + e.getKey());
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf-tiny/llama", "hf-tiny/qwen2"})
    void frozenBf16WeightsGiveTheSameInputGradient(String dir) {
        BiFunction<LanguageModel, Boolean, float[][]> run = (lm, fusedPath) -> {
            try (var step = TensorScope.open()) {
                Tensor embeds;
                try (var ng = Autograd.noGrad()) {
                    embeds = lm.embed(ids()).to(DType.F32).detach().contiguous();
                }
                embeds.requiresGrad(true);
                ModelInput input = ModelInput.of(ids(), null).withEmbeds(embeds, null);
                Tensor lp;
                if (fusedPath) {
                    assertNotNull(lm.outputProjection(), "a plain bf16 head is fused");
                    lp = lm.tokenLogProbs(input, labels());
                } else {
                    Tensor logits = lm.forward(input);
                    lp = CrossEntropy.tokenLogProbs(logits.reshape(B * T, logits.dim(2)), labels());
                }
                Tensor loss = CrossEntropy.lossFromLogProbs(lp, labels());
                Autograd.backward(loss);
                return new float[][]{loss.toFloatArray(), embeds.grad().toFloatArray()};
            }
        };
        LoadOptions bf16 = LoadOptions.builder().dtype(DType.BF16).build();
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir), bf16)) {
            float[][] unfused = run.apply(lm, false);
            float[][] fused = run.apply(lm, true);
            assertArrayEquals(unfused[0], fused[0], dir + " bf16 loss");
            assertArrayEquals(unfused[1], fused[1], dir + " bf16 input gradient");
        }
    }

    /** The loss and every parameter's gradient (by name) after one backward of the mean loss. */
    private static Map<String, float[]> trainStep(String dir, BiFunction<LanguageModel, ModelInput, Tensor> logProbs) {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir));
             var step = TensorScope.open()) {
            assertNotNull(lm.outputProjection(), dir + " has a plain output projection");
            lm.requiresGrad(true);
            Tensor loss = CrossEntropy.lossFromLogProbs(logProbs.apply(lm, ModelInput.of(ids(), null)), labels());
            Autograd.backward(loss);
            Map<String, float[]> out = new TreeMap<>();
            out.put("loss", loss.toFloatArray());
            lm.trainableParameters().forEach((name, p) -> out.put(name, p.grad().toFloatArray()));
            return out;
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double maxAbs = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(maxDiff <= HEAD_GRAD_RTOL * maxAbs, what + ": largest difference " + maxDiff + " of " + maxAbs);
    }
}
