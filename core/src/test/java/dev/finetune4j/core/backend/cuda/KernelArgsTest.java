package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Views reach the kernels as common.cuh's View struct: rank, offset, shape[8], strides[8]. */
class KernelArgsTest {

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
