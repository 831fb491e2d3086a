package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Nf4Format;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NF4 quantization kernels against hand-computed layouts and values, and the error bound of a round trip. */
class Nf4QuantizationTest {

    @Test
    void oneBlockOfCodeValuesIsStoredAndReadBackExactly() {
        // 64 values 2 * code(i % 16): absmax 2 = the mean, so the group scale is 0 and every maximum code 0
        float[] v = new float[64];
        for (int i = 0; i < v.length; i++) {
            v[i] = 2 * Nf4Format.code(i % 16);
        }
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.of(v, 8, 8).convertTo(DType.NF4, scope);
            MemorySegment bytes = CpuTensors.segment(q);
            assertEquals(4 + 4 + 1 + 32, bytes.byteSize());
            assertEquals(2f, bytes.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0), "mean of the block maxima");
            assertEquals(0f, bytes.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4), "group scale");
            assertEquals(0, bytes.get(ValueLayout.JAVA_BYTE, 8), "the block maximum's code");
            assertEquals((byte) 0x01, bytes.get(ValueLayout.JAVA_BYTE, 9), "codes 0 and 1, the first in the high nibble");
            assertEquals((byte) 0xEF, bytes.get(ValueLayout.JAVA_BYTE, 16), "codes 14 and 15");
            assertArrayEquals(v, q.toFloatArray());
        }
    }

    @Test
    void blockMaximaAreDoubleQuantizedAroundTheirMean() {
        // block 0 max 1, block 1 max 3: mean 2, scale 1, codes -127 and 127, maxima read back 1 and 3 exactly;
        // 0.3 of a block maximum lies between codes 0.2461 and 0.3379 (midpoint 0.2920), so it becomes 0.3379
        float[] v = new float[128];
        v[0] = 1;
        v[1] = 0.3f;
        v[64] = -3;
        v[65] = 0.45f;
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.of(v, 128).convertTo(DType.NF4, scope);
            MemorySegment bytes = CpuTensors.segment(q);
            long absmaxAt = Nf4Format.absmaxOffset(128);
            assertEquals(4 + 4 + 2 + 64, bytes.byteSize());
            assertEquals(2f, bytes.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
            assertEquals(1f, bytes.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4));
            assertEquals((byte) -127, bytes.get(ValueLayout.JAVA_BYTE, absmaxAt));
            assertEquals((byte) 127, bytes.get(ValueLayout.JAVA_BYTE, absmaxAt + 1));
            float[] back = q.toFloatArray();
            assertEquals(1f, back[0]);
            assertEquals(Nf4Format.code(11), back[1]);
            assertEquals(-3f, back[64]);
            assertEquals(3 * Nf4Format.code(9), back[65], "0.15 of 3 is nearest to code 0.1609 (midpoint 0.1203)");
        }
    }

    @Test
    void roundTripErrsByAtMostHalfTheWidestCodeGapPerBlock() {
        float[] w = GradCheck.randn(7, 64 * 1000 + 17);
        try (TensorScope scope = TensorScope.open()) {
            for (DType source : new DType[]{DType.F32, DType.BF16}) {
                Tensor t = Tensor.of(w, w.length).convertTo(source, scope);
                float[] exact = t.toFloatArray();
                float[] back = t.convertTo(DType.NF4, scope).toFloatArray();
                for (int b = 0; b * 64 < w.length; b++) {
                    float absmax = 0;
                    for (int i = b * 64; i < Math.min(w.length, b * 64 + 64); i++) {
                        absmax = Math.max(absmax, Math.abs(exact[i]));
                    }
                    for (int i = b * 64; i < Math.min(w.length, b * 64 + 64); i++) {
                        // codes -1 and -0.6962 are 0.3038 apart; the 8-bit maximum adds under 1%
                        assertTrue(Math.abs(back[i] - exact[i]) <= absmax * (0.1519 * 1.01 + 0.01),
                                source + " value " + i + ": " + exact[i] + " -> " + back[i]);
                    }
                }
            }
        }
    }

    @Test
    void dequantizesAnyRangeOfValues() {
        float[] w = GradCheck.randn(3, 1000);
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.of(w, 1000).convertTo(DType.NF4, scope);
            float[] all = q.toFloatArray();
            Tensor part = Tensor.zeros(Device.cpu(), Shape.of(101));
            Device.cpu().backend().quantization().dequantizeNf4(q, 63, part);
            float[] expected = new float[101];
            System.arraycopy(all, 63, expected, 0, 101);
            assertArrayEquals(expected, part.toFloatArray());
            assertArrayEquals(all, q.copyTo(Device.cpu(), scope).toFloatArray(), "a copy holds the codes and scales");
        }
    }

    @Test
    void aCachedFrozenNf4WeightMultipliesLikeItsValuesAndFollowsAMerge() {
        try (TensorScope params = TensorScope.detached(); TensorScope step = TensorScope.open()) {
            Tensor x = Tensor.of(GradCheck.randn(1, 3 * 64), 3, 64);
            Tensor w = Tensor.of(params, GradCheck.randn(2, 32 * 64), 32, 64).convertTo(DType.NF4, params).named("weight");
            for (int round = 0; round < 2; round++) {
                Tensor dense = w.convertTo(DType.F32, step).requiresGrad(true); // not cached
                Tensor expected = Tensor.zeros(3, 32);
                Tensor actual = Tensor.zeros(3, 32);
                Device.cpu().backend().matmul().gemm(x, false, dense, true, expected, 1f, false);
                Device.cpu().backend().matmul().gemm(x, false, w, true, actual, 1f, false);
                assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), 1e-5f);
                // new values in the same storage, written through the handed-out memory (which counts as a write):
                // the cache must see them
                Tensor other = Tensor.of(GradCheck.randn(9, 32 * 64), 32, 64).convertTo(DType.NF4, step);
                MemorySegment memory = w.hostSegment();
                MemorySegment.copy(CpuTensors.segment(other), 0, memory, 0, memory.byteSize());
            }
        }
    }
}
