package dev.finetune4j.onnx;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static dev.finetune4j.onnx.OnnxFamiliesTest.ones;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hybrids with recurrent layers (LFM2's short convolutions) exported and run in ONNX Runtime, their states fed
 * back as ONNX Runtime GenAI feeds them ({@link OrtDecoder}), give the logits of transformers itself (core's
 * references, tools/reference/transformers_families.py) and of finetune4j's model within {@value
 * OnnxExporterTest#TOLERANCE}: a full pass, a right-padded and a left-padded batch, a prompt cut in two calls, one
 * token per call over all 16 and a greedy generation.
 */
class OnnxRecurrentTest {
    /** Where the sequence is cut between a first call and a second that reads the first's states. */
    private static final int PAST = 9;

    @ParameterizedTest
    @ValueSource(strings = {"lfm2", "lfm2_moe", "granite4_h", "granite4_h_moe", "qwen3_5", "qwen3_next", "qwen3_5_moe"})
    void onnxRuntimeComputesTheReferenceLogitsThroughTheRecurrentStates(String family, @TempDir Path tmp)
            throws Exception {
        OnnxFamiliesTest.assertExportFollowsTheReference(family, tmp, (model, onnx) -> { });
    }

    /**
     * A convolution state fed back one step off (as a graph that kept the wrong window of inputs would carry it) moves
     * the logits after the cut past the tolerance, so the exact match above is not one that any state would give.
     */
    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"lfm2, past_conv.0", "granite4_h, past_key_values.0.conv_state", "qwen3_5, past_key_values.0.conv_state"})
    void aConvolutionStateOneStepOffMissesTheReference(String family, String state, @TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder());
             OrtDecoder ort = new OrtDecoder(OnnxExporter.export(model, tmp.resolve("onnx")))) {
            long[] row = fixture.ids("input_ids")[0];
            float[][][] shifted = ort.logitsAfterShiftedState(row, PAST, state);
            float[][][] reference = {Arrays.copyOfRange(fixture.logits("logits")[0], PAST, row.length)};
            LogitsDifference missed = LogitsDifference.of(reference, shifted, ones(1, shifted[0].length));
            System.out.println(family + " with " + state + " one step off: " + missed);
            assertTrue(missed.value() > 100 * TOLERANCE, family + " with " + state + " one step off: " + missed);
        }
    }

    /**
     * Every head's A_log set to -30 (a decay of exp(-exp(-30) dt), 1 within float32: the state never forgets) moves the
     * reference logits past the tolerance, and the export of that model follows finetune4j's logits for it: a graph
     * that dropped the decay would fail above.
     */
    @ParameterizedTest
    @ValueSource(strings = {"granite4_h", "qwen3_5"})
    void aStateWithoutDecayMissesTheReferenceAndTheExportFollowsIt(String family, @TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        OnnxMixtureOfExpertsTest.rewriteWeights(fixture.folder(), (name, t) -> name.endsWith(".A_log")
                ? Tensor.of(filled((int) t.numel(), -30f), t.shape().dims()) : t);
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, family + " without decay", tmp);
    }

    private static float[] filled(int n, float value) {
        float[] out = new float[n];
        Arrays.fill(out, value);
        return out;
    }
}
