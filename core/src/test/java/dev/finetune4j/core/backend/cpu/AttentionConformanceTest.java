package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The attention kernels on the Vector API backend against the scalar one: GQA over three causal query blocks
 * with cached keys, padding and a fully masked query, the same within a sliding window of 20 keys, and a
 * bidirectional mask; every output within 1e-5 of the
 * largest magnitude, the fully masked query's output and log-sum-exp exactly 0 and -infinity on both.
 */
class AttentionConformanceTest {
    private static final int B = 2, H = 4, HKV = 2, T = 70, S = 75, D = 8;

    @Test
    void forwardAndBackwardMatchTheScalarBackend() {
        boolean[][] valid = new boolean[B][S];
        for (boolean[] row : valid) {
            Arrays.fill(row, true);
        }
        valid[1][40] = false;
        Arrays.fill(valid[1], 0, S - T + 1, false); // row 1, query 0 (key position 5) sees no key at all
        for (AttentionMask mask : new AttentionMask[]{new AttentionMask(true, valid, null),
                new AttentionMask(false, valid, null), new AttentionMask(true, valid, null, 20)}) {
            try (var s = TensorScope.open()) {
                Tensor q = Tensor.of(ActivationConformanceTest.gaussian(1, B * H * T * D, 1), B, H, T, D);
                Tensor k = Tensor.of(ActivationConformanceTest.gaussian(2, B * HKV * S * D, 1), B, HKV, S, D);
                Tensor v = Tensor.of(ActivationConformanceTest.gaussian(3, B * HKV * S * D, 1), B, HKV, S, D);
                Tensor dOut = Tensor.of(ActivationConformanceTest.gaussian(4, B * H * T * D, 1), B, H, T, D);
                float[][] fast = run(CpuBackend.instance(), q, k, v, dOut, mask);
                float[][] scalar = run(CpuBackend.scalar(), q, k, v, dOut, mask);
                String[] names = {"out", "logSumExp", "dq", "dk", "dv"};
                for (int n = 0; n < names.length; n++) {
                    assertClose(scalar[n], fast[n], names[n] + ", causal " + mask.causal());
                }
                if (mask.causal() && mask.window() == 0) {
                    for (float[][] result : new float[][][]{fast, scalar}) {
                        assertEquals(Float.NEGATIVE_INFINITY, result[1][H * T], "row 1, head 0, query 0: no visible key");
                        for (int d = 0; d < D; d++) {
                            assertEquals(0f, result[0][H * T * D + d], 0f, "its output is 0");
                        }
                    }
                }
            }
        }
    }

    /** out, logSumExp, dq, dk, dv. */
    private static float[][] run(CpuBackend backend, Tensor q, Tensor k, Tensor v, Tensor dOut, AttentionMask mask) {
        Tensor out = Tensor.zeros(q.shape());
        Tensor lse = Tensor.zeros(Shape.of(B, H, T));
        Tensor dq = Tensor.zeros(q.shape());
        Tensor dk = Tensor.zeros(k.shape());
        Tensor dv = Tensor.zeros(v.shape());
        for (Tensor g : new Tensor[]{dq, dk, dv}) {
            backend.copy().fill(g, 7f); // the gradients are overwritten, not accumulated
        }
        backend.attention().attention(q, k, v, mask, 0.35f, 0f, out, lse);
        backend.attention().attentionBackward(q, k, v, mask, 0.35f, 0f, out, lse, dOut, dq, dk, dv);
        return new float[][]{out.toFloatArray(), lse.toFloatArray(), dq.toFloatArray(), dk.toFloatArray(), dv.toFloatArray()};
    }

    private static void assertClose(float[] want, float[] got, String what) {
        double scale = 0;
        for (float w : want) {
            scale = Float.isFinite(w) ? Math.max(scale, Math.abs(w)) : scale;
        }
        for (int i = 0; i < want.length; i++) {
            if (Float.isFinite(want[i])) {
                assertEquals(want[i], got[i], 1e-5 * scale, what + " at " + i);
            } else {
                assertEquals(want[i], got[i], what + " at " + i);
            }
        }
    }
}
