package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Granite 4.0 H's language model (granitemoehybrid with Mamba-2 layers) against references/granite4_h and, with a
 * mixture of experts beside the shared MLP, references/granite4_h_moe
 * (tools/reference/granite4_hybrid_torch.py: transformers 5.17's GraniteMoeHybridForCausalLM re-implemented in
 * PyTorch and recomputed with transformers itself within 8.5e-7): the gradients of every Mamba-2 weight through the
 * additive recurrence's hand-written backward, a 150-token input whose states the backward recomputes across three
 * kept ones, and a left-padded batch, whose padding transformers zeroes before and after the convolution.
 * FamilyReferencesTest checks the logits, the right-padded batch, the loss and greedy generation.
 */
class Granite4HybridReferenceTest {
    /** The dense model's, and the mixture's (its router's and stacked experts' besides). */
    @ParameterizedTest
    @ValueSource(strings = {"granite4_h", "granite4_h_moe"})
    void gradientsThroughTheMambaLayerMatchTorch(String family) throws Exception {
        ReferenceGradients.assertMatch(family, Device.cpu());
    }

    /** 150 tokens: three kept states in the forward, two recomputed stretches in the backward. */
    @ParameterizedTest
    @ValueSource(strings = {"granite4_h", "granite4_h_moe"})
    void aLongInputsLogitsAndGradientsMatchTorch(String family) throws Exception {
        Qwen35ReferenceTest.assertLongInputMatchesTorch("references/" + family, 4);
    }

    /** Row 1 starts with 4 padding positions; its real positions must see a state that the padding left at zero. */
    @ParameterizedTest
    @ValueSource(strings = {"granite4_h", "granite4_h_moe"})
    void aLeftPaddedBatchMatchesTorchAtItsRealPositions(String family) throws Exception {
        String dir = "references/" + family;
        ReferenceData ref = ReferenceData.load(dir + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("left_attention_mask");
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir))) {
            float[][][] ours = lm.logits(ids, mask);
            float[] expected = ref.floats.get("logits_left_padded");
            int t = ours[0].length;
            int v = ours[0][0].length;
            float[] kept = new float[expected.length];
            float[] actual = new float[expected.length];
            for (int b = 0; b < ours.length; b++) {
                for (int i = 0; i < t; i++) {
                    // a padded position attends to no key: its logits are an artefact, compared by neither side
                    if (mask[b][i] == 1) {
                        System.arraycopy(expected, (b * t + i) * v, kept, (b * t + i) * v, v);
                        System.arraycopy(ours[b][i], 0, actual, (b * t + i) * v, v);
                    }
                }
            }
            HfReferenceModelsTest.assertClose(kept, actual, null, "logits_left_padded");
        }
    }
}
