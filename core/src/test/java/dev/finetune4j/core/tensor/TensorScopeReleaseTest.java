package dev.finetune4j.core.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TensorScopeReleaseTest {

    @Test
    void detachedScopeFreesOneTensorEarlyAndKeepsTheOthers() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = Tensor.of(scope, new float[]{1, 2, 3, 4}, 2, 2);
            Tensor b = Tensor.of(scope, new float[]{5, 6}, 2);
            Tensor view = a.transpose(0, 1);
            assertEquals(24, scope.liveBytes());
            scope.release(a);
            assertEquals(8, scope.liveBytes());
            assertEquals(24, scope.allocatedBytes());
            assertThrows(IllegalStateException.class, a::toFloatArray);
            assertThrows(IllegalStateException.class, view::toFloatArray);
            assertArrayEquals(new float[]{5, 6}, b.toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> scope.release(a), "released twice");
        }
    }

    @Test
    void stepScopesAndForeignTensorsCannotBeReleased() {
        try (TensorScope parameters = TensorScope.detached(); TensorScope step = TensorScope.open()) {
            Tensor stepTensor = Tensor.zeros(2, 2);
            assertThrows(IllegalArgumentException.class, () -> step.release(stepTensor));
            assertThrows(IllegalArgumentException.class, () -> parameters.release(stepTensor));
        }
    }
}
