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
        HfReferenceModelsTest.assertLeftPaddedBatchMatches("references/" + family);
    }
}
