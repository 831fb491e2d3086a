package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Views reach the kernels as common.cuh's View struct: rank, offset, shape[8], strides[8]; a struct of floats and
 * longs (attention.cuh's AttentionDropout) as C lays it out.
 */
class KernelArgsTest {

    @Test
    void floatsThenLongsAreLaidOutAsCLaysOutTheirStruct() {
        try (KernelArgs a = new KernelArgs()) {
            a.i32(7).floatsThenLongs(new float[]{0.3f, 1.25f, -2f}, 5L, -1L);
            assertEquals(List.of(KernelArgType.I32, KernelArgType.struct(32)), a.types());
            // float p, keepScale, x; (4 bytes of padding) long long seed, step;
            MemorySegment struct = a.pointers().getAtIndex(ValueLayout.ADDRESS, 1).reinterpret(32);
            assertEquals(0.3f, struct.get(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(1.25f, struct.get(ValueLayout.JAVA_FLOAT, 4));
            assertEquals(-2f, struct.get(ValueLayout.JAVA_FLOAT, 8));
            assertEquals(5L, struct.get(ValueLayout.JAVA_LONG, 16));
            assertEquals(-1L, struct.get(ValueLayout.JAVA_LONG, 24));
            assertEquals(0, struct.address() % 8, "8-byte aligned, as its longs are");
        }
    }

    @Test
    void aViewPacksItsRankOffsetShapeAndStrides() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor t = Tensor.zeros(2, 3, 4).slice(2, 1, 3).transpose(0, 1);
            assertArrayEquals(new long[]{3, 1, 3, 2, 2, 0, 0, 0, 0, 0, 4, 12, 1, 0, 0, 0, 0, 0},
                    KernelArgs.packView(t));
            Tensor broadcast = Tensor.zeros(3, 1).expand(Shape.of(3, 5));
            assertArrayEquals(new long[]{2, 0, 3, 5, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
                    KernelArgs.packView(broadcast));
        }
    }

    @Test
    void aScalarIsOneElementAndTooManyDimensionsAreRefused() {
        try (TensorScope scope = TensorScope.open()) {
            long[] scalar = KernelArgs.packView(Tensor.zeros(Shape.of(new int[0])));
            assertArrayEquals(new long[]{1, 0, 1}, java.util.Arrays.copyOf(scalar, 3));
            Tensor nine = Tensor.zeros(1, 1, 1, 1, 1, 1, 1, 1, 2);
            var e = assertThrows(IllegalArgumentException.class, () -> KernelArgs.packView(nine));
            assertTrue(e.getMessage().contains("at most 8 dimensions"), e.getMessage());
        }
    }
}
