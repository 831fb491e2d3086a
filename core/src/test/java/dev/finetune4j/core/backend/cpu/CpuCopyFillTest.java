package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** CopyKernels.fill writes exactly the elements of its destination view, whatever the layout. */
class CpuCopyFillTest {

    @Test
    void fillsAContiguousViewThatStartsInsideItsStorage() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor all = Tensor.of(scope, new float[]{1, 2, 3, 4, 5}, 5);
            CpuBackend.instance().copy().fill(all.slice(0, 1, 4), 0f);
            assertArrayEquals(new float[]{1, 0, 0, 0, 5}, all.toFloatArray());
        }
    }

    @Test
    void fillsAStridedViewAndOtherDtypes() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor m = Tensor.of(scope, new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            CpuBackend.instance().copy().fill(m.slice(1, 1, 2), -1f); // column 1: stride 3
            assertArrayEquals(new float[]{1, -1, 3, 4, -1, 6}, m.toFloatArray());
            Tensor bf16 = Tensor.zeros(scope, DType.BF16, Shape.of(3));
            CpuBackend.instance().copy().fill(bf16, 0.5f);
            assertArrayEquals(new float[]{0.5f, 0.5f, 0.5f}, bf16.toFloatArray());
        }
    }
}
