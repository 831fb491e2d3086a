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
import static dev.finetune4j.onnx.OnnxFamiliesTest.positions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
    /** Padded tokens before row 1's first real one, where a fixture has no left-padded batch of its own. */
    private static final int LEFT_PADDING = 3;

    @ParameterizedTest
    @ValueSource(strings = {"lfm2", "lfm2_moe", "granite4_h", "granite4_h_moe", "qwen3_5", "qwen3_next", "qwen3_5_moe"})
    void onnxRuntimeComputesTheReferenceLogitsThroughTheRecurrentStates(String family, @TempDir Path tmp)
            throws Exception {
        assertExportFollowsTheReference(family, tmp);
    }

    /**
     * Exports core's fixture {@code family} into {@code tmp} and checks ONNX Runtime's logits against the reference and
     * finetune4j: a full pass, right- and left-padded batches, a prompt cut in two calls, one token per call, greedy.
     */
    static void assertExportFollowsTheReference(String family, Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder());
             OrtDecoder ort = new OrtDecoder(OnnxExporter.export(model, tmp.resolve("onnx")))) {
            long[][] ids = fixture.ids("input_ids");
            long[][] all = ones(ids.length, ids[0].length);
            float[][][] full = ort.logits(ids, all, positions(ids));
            assertWithin(fixture.logits("logits"), full, all, family + ", full pass against the reference");
            assertWithin(model.logits(ids, null), full, all, family + ", full pass against finetune4j");

            long[][] rightPadded = fixture.ids("attention_mask");
            assertWithin(fixture.logits("logits_masked"), ort.logits(ids, rightPadded, positions(ids)), rightPadded,
                    family + ", right-padded batch against the reference");
            // the Qwen3.5 fixtures have no left-padded reference: their batch is checked against finetune4j alone
            long[][] leftPadded = fixture.has("left_attention_mask") ? fixture.ids("left_attention_mask") : leftPadded(ids);
            float[][][] left = ort.logits(ids, leftPadded, positions(ids));
            if (fixture.has("logits_left_padded")) {
                assertWithin(fixture.logits("logits_left_padded"), left, leftPadded,
                        family + ", left-padded batch against the reference");
            }
            assertWithin(model.logits(ids, leftPadded), left, leftPadded, family + ", left-padded batch against finetune4j");

            float[][][] afterPast = ort.logitsAfterPast(ids[0], PAST);
            float[][][] referenceAfterPast = {Arrays.copyOfRange(fixture.logits("logits")[0], PAST, ids[0].length)};
            assertWithin(referenceAfterPast, afterPast, ones(1, afterPast[0].length),
                    family + ", " + (ids[0].length - PAST) + " tokens on the states of " + PAST + " against the reference");

            float[][] steps = ort.stepLogits(ids[0], 1, OrtDecoder.StaleCache.NEVER);
            float[][][] stepped = {steps};
            assertWithin(new float[][][]{fixture.logits("logits")[0]}, stepped, ones(1, steps.length),
                    family + ", one token per call against the reference");

            long[] prompt = fixture.ids("greedy_prompt")[0];
            long[] expected = fixture.ids("greedy_output")[0];
            assertArrayEquals(expected, ort.greedy(prompt, expected.length - prompt.length, OrtDecoder.StaleCache.NEVER),
                    family + ": greedy tokens through the states against the reference");
        }
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
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder());
             OrtDecoder ort = new OrtDecoder(OnnxExporter.export(model, tmp.resolve("onnx")))) {
            long[][] ids = fixture.ids("input_ids");
            long[][] all = ones(ids.length, ids[0].length);
            float[][][] logits = ort.logits(ids, all, positions(ids));
            assertWithin(model.logits(ids, null), logits, all, family + " without decay against finetune4j");
            LogitsDifference missed = LogitsDifference.of(fixture.logits("logits"), logits, all);
            System.out.println(family + " without decay against the reference: " + missed);
            assertTrue(missed.value() > 100 * TOLERANCE, family + " without decay must miss the reference: " + missed);
        }
    }

    /** All ones but row 1's first {@value #LEFT_PADDING} tokens. */
    private static long[][] leftPadded(long[][] ids) {
        long[][] mask = ones(ids.length, ids[0].length);
        Arrays.fill(mask[1], 0, LEFT_PADDING, 0);
        return mask;
    }

    private static float[] filled(int n, float value) {
        float[] out = new float[n];
        Arrays.fill(out, value);
        return out;
    }

    static void assertWithin(float[][][] expected, float[][][] actual, long[][] mask, String what) {
        LogitsDifference d = LogitsDifference.of(expected, actual, mask);
        System.out.println(what + ": " + d);
        assertTrue(d.value() < TOLERANCE, what + ": " + d);
    }
}
