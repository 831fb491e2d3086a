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
    void stepScopeFreesItsOwnTensorEarlyAndRefusesForeignOnes() {
        try (TensorScope parameters = TensorScope.detached(); TensorScope step = TensorScope.open()) {
            Tensor stepTensor = Tensor.zeros(2, 2);
            Tensor kept = Tensor.of(new float[]{7, 8}, 2);
            Tensor parameter = Tensor.of(parameters, new float[]{1}, 1);
            assertThrows(IllegalArgumentException.class, () -> parameters.release(stepTensor), "not its tensor");
            assertThrows(IllegalArgumentException.class, () -> step.release(parameter), "not its tensor");
            step.release(stepTensor);
            assertEquals(8, step.liveBytes());
            // a step tensor's memory is a Java array that stays readable: the scope itself refuses the use
            assertThrows(IllegalStateException.class, stepTensor::toFloatArray);
            assertThrows(IllegalStateException.class, () -> stepTensor.reshape(4).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> step.release(stepTensor), "released twice");
            assertArrayEquals(new float[]{7, 8}, kept.toFloatArray());
        }
    }

    @Test
    void releaseSinceFreesWhatCameAfterTheMarkExceptWhatIsKept() {
        try (TensorScope step = TensorScope.open()) {
            Tensor before = Tensor.of(new float[]{1}, 1);
            long mark = step.mark();
            Tensor temporary = Tensor.zeros(2, 2);
            Tensor result = Tensor.of(new float[]{3, 4}, 2);
            Tensor other = Tensor.zeros(3);
            step.releaseSince(mark, result.reshape(1, 2), null);
            assertEquals(4 + 8, step.liveBytes(), "the tensor from before the mark and the kept one");
            assertArrayEquals(new float[]{1}, before.toFloatArray());
            assertArrayEquals(new float[]{3, 4}, result.toFloatArray());
            assertThrows(IllegalStateException.class, temporary::toFloatArray);
            assertThrows(IllegalStateException.class, other::toFloatArray);
        }
    }
}
