package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU's chunked gated recurrence against the token-by-token one ({@link TokenByTokenGatedRule}): outputs, the
 * last state, the kept states and every gradient, over three chunks (the last one partial), with and without packed
 * examples (starting mid-chunk, at a chunk's first token and one token after it), on the vector and the scalar gemm.
 * The finite-difference checks of the same kernels are LinearAttentionTest's.
 */
class ChunkedGatedRuleTest {
    private static final int B = 2;
    private static final int T = 150;
    private static final int H = 2;
    private static final int DK = 16;
    private static final int DV = 12;
    /** Largest difference allowed, relative to the largest value of the compared tensor. */
    private static final double TOLERANCE = 2e-5;

    @ParameterizedTest(name = "{0}, packed {1}, scalar gemm {2}")
    @CsvSource({"DELTA, false, false", "DELTA, true, false", "ADDITIVE, false, false", "ADDITIVE, true, false",
            "DELTA, true, true", "ADDITIVE, false, true"})
    void chunkedFormEqualsTheTokenByTokenRecurrence(StateUpdate update, boolean packed, boolean scalar) {
        SplittableRandom r = new SplittableRandom(update.ordinal() * 4 + (packed ? 2 : 0) + (scalar ? 1 : 0));
        agree(update, packed ? offsets() : null, T, scalar ? CpuBackend.scalar() : CpuBackend.instance(), r);
    }

    /** A generation's one-token call from a nonzero state. */
    @Test
    void oneTokenFromACarriedStateEqualsTheTokenByTokenStep() {
        for (StateUpdate update : StateUpdate.values()) {
            agree(update, null, 1, CpuBackend.instance(), new SplittableRandom(9 + update.ordinal()));
        }
    }

    /**
     * A forward without kept states (inference), from a carried state and with packed examples: a generation's
     * one-token call and a prompt at small heads take the token-by-token steps, a prompt at wider heads the chunks;
     * each one's outputs and last state are the reference's.
     */
    @ParameterizedTest(name = "{0} tokens, heads {1} x {2}")
    @CsvSource({"1, 16, 12", "150, 16, 12", "150, 40, 48"})
    void withoutKeptStatesEqualsTheReference(int t, int dk, int dv) {
        for (StateUpdate update : StateUpdate.values()) {
            for (float[] offsets : new float[][]{null, t == 1 ? new float[]{0f, 5f} : offsets()}) {
                SplittableRandom r = new SplittableRandom(21 + update.ordinal());
                float[] q = random(r, B * t * H * dk, -0.4, 0.4);
                float[] k = random(r, B * t * H * dk, -0.4, 0.4);
                float[] v = random(r, B * t * H * dv, -1, 1);
                float[] g = random(r, B * t * H, -1.5, -0.01);
                float[] beta = random(r, B * t * H, 0.05, 0.95);
                float[] state = random(r, B * H * dk * dv, -0.5, 0.5);
                float[] expectedState = state.clone();
                int chunks = (t + RecurrentKernels.STATE_INTERVAL - 1) / RecurrentKernels.STATE_INTERVAL;
                float[] expectedOut = new TokenByTokenGatedRule(update, B, t, H, dk, dv, q, k, v, g, beta, offsets)
                        .forward(expectedState, new float[B * H * chunks * dk * dv]);
                try (TensorScope scope = TensorScope.detached()) {
                    Tensor tState = Tensor.of(scope, state, B, H, dk, dv);
                    Tensor out = Tensor.zeros(scope, DType.F32, Shape.of(B, t, H, dv));
                    CpuBackend.instance().recurrent().gatedRule(update, Tensor.of(scope, q, B, t, H, dk),
                            Tensor.of(scope, k, B, t, H, dk), Tensor.of(scope, v, B, t, H, dv), Tensor.of(scope, g, B, t, H),
                            Tensor.of(scope, beta, B, t, H), offsets == null ? null : Tensor.of(scope, offsets, B, t),
                            tState, out, null);
                    close("outputs", expectedOut, out.toFloatArray());
                    close("last state", expectedState, tState.toFloatArray());
                }
            }
        }
    }

    /** Row 0: examples from tokens 0, 40, 64 (a kept state's token), 65 and 100; row 1: from 0, 3 and 128. */
    private static float[] offsets() {
        int[][] starts = {{0, 40, 64, 65, 100}, {0, 3, 128}};
        float[] offsets = new float[B * T];
        for (int b = 0; b < B; b++) {
            int start = 0;
            for (int t = 0; t < T; t++) {
                for (int s : starts[b]) {
                    start = t == s ? s : start;
                }
                offsets[b * T + t] = t - start;
            }
        }
        return offsets;
    }

    private static void agree(StateUpdate update, float[] offsets, int t, CpuBackend backend, SplittableRandom r) {
        float[] q = random(r, B * t * H * DK, -0.4, 0.4);
        float[] k = random(r, B * t * H * DK, -0.4, 0.4);
        float[] v = random(r, B * t * H * DV, -1, 1);
        float[] g = random(r, B * t * H, -1.5, -0.01);
        g[3] = -30; // a decay that empties the state
        float[] beta = random(r, B * t * H, 0.05, 0.95);
        float[] state = offsets == null ? random(r, B * H * DK * DV, -0.5, 0.5) : new float[B * H * DK * DV];
        float[] dO = random(r, B * t * H * DV, -1, 1);
        int chunks = (t + RecurrentKernels.STATE_INTERVAL - 1) / RecurrentKernels.STATE_INTERVAL;

        TokenByTokenGatedRule reference = new TokenByTokenGatedRule(update, B, t, H, DK, DV, q, k, v, g, beta, offsets);
        float[] expectedState = state.clone();
        float[] expectedKept = new float[B * H * chunks * DK * DV];
        float[] expectedOut = reference.forward(expectedState, expectedKept);
        float[][] expectedGrads = reference.backward(expectedKept, dO);

        try (TensorScope scope = TensorScope.detached()) {
            Tensor tq = Tensor.of(scope, q, B, t, H, DK);
            Tensor tk = Tensor.of(scope, k, B, t, H, DK);
            Tensor tv = Tensor.of(scope, v, B, t, H, DV);
            Tensor tg = Tensor.of(scope, g, B, t, H);
            Tensor tBeta = Tensor.of(scope, beta, B, t, H);
            Tensor tOffsets = offsets == null ? null : Tensor.of(scope, offsets, B, t);
            Tensor tState = Tensor.of(scope, state.clone(), B, H, DK, DV);
            Tensor out = Tensor.zeros(scope, DType.F32, Shape.of(B, t, H, DV));
            Tensor kept = Tensor.zeros(scope, DType.F32, Shape.of(B, H, chunks, DK, DV));
            RecurrentKernels kernels = backend.recurrent();
            kernels.gatedRule(update, tq, tk, tv, tg, tBeta, tOffsets, tState, out, kept);
            close("outputs", expectedOut, out.toFloatArray());
            close("last state", expectedState, tState.toFloatArray());
            close("kept states", expectedKept, kept.toFloatArray());

            Tensor[] grads = {Tensor.zeros(scope, DType.F32, tq.shape()), Tensor.zeros(scope, DType.F32, tk.shape()),
                    Tensor.zeros(scope, DType.F32, tv.shape()), Tensor.zeros(scope, DType.F32, tg.shape()),
                    Tensor.zeros(scope, DType.F32, tBeta.shape())};
            kernels.gatedRuleBackward(update, tq, tk, tv, tg, tBeta, tOffsets, kept, Tensor.of(scope, dO, B, t, H, DV),
                    grads[0], grads[1], grads[2], grads[3], grads[4]);
            String[] names = {"dq", "dk", "dv", "dg", "dBeta"};
            for (int i = 0; i < names.length; i++) {
                close(names[i], expectedGrads[i], grads[i].toFloatArray());
            }
        }
    }

    private static void close(String what, float[] expected, float[] actual) {
        double scale = 0;
        double worst = 0;
        int where = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs(expected[i] - actual[i]);
            if (d > worst || Double.isNaN(d)) {
                worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                where = i;
            }
        }
        assertTrue(worst <= TOLERANCE * Math.max(scale, 1e-3), what + ": largest difference " + worst + " at " + where
                + " (" + expected[where] + " expected, " + actual[where] + " found), values up to " + scale);
    }

    private static float[] random(SplittableRandom r, int n, double lo, double hi) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) r.nextDouble(lo, hi);
        }
        return values;
    }
}
