package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fake device has an H200's memory, so that a 7B model's weights and activations can be allocated there to
 * measure a step's peak; what is live is not free, so a step that would not fit the card still fails.
 */
class FakeCudaMemoryTest {
    private static final long GIB = 1L << 30;

    @Test
    void bigAllocationsFitUntilTheCardIsFullThenOutOfMemoryShows() {
        Device gpu = FakeCudaProvider.device();
        FakeCuda fake = FakeCudaProvider.libraries();
        try (TensorScope scope = TensorScope.detached(gpu)) {
            long before = fake.liveBytes();
            Tensor.zeros(scope, DType.F32, Shape.of(25, 1 << 30)); // 100 GiB, more than any one weight of a 70B model
            assertTrue(fake.liveBytes() >= before + 100 * GIB, "the driver holds the 100 GiB");
            assertEquals(100 * GIB, scope.liveBytes());
            CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                    () -> Tensor.zeros(scope, DType.F32, Shape.of(50, 1 << 28)));
            assertTrue(e.getMessage().contains("asked for 50.00 GiB") && e.getMessage().contains("free of 141.00 GiB"),
                    e.getMessage());
            Tensor.zeros(scope, DType.F32, Shape.of(20, 1 << 28)); // what is still free serves a smaller request
            assertEquals(120 * GIB, scope.liveBytes());
        }
    }
}
