package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Norms of tensors on two devices, in the order given; a NaN or an infinity makes its tensor's norm non-finite. */
class TensorNormsTest {

    @Test
    void normsFollowTheGivenOrderAcrossDevicesAndFlagNonFiniteTensors() {
        try (var scope = TensorScope.open()) {
            Device opaque = OpaqueBackendProvider.device();
            Tensor a = Tensor.of(Device.cpu(), scope, new float[]{3, 4}, Shape.of(2));
            Tensor b = Tensor.of(opaque, scope, new float[]{1, Float.NaN}, Shape.of(2));
            Tensor c = Tensor.of(Device.cpu(), scope, new float[]{Float.POSITIVE_INFINITY, 0}, Shape.of(2));
            Tensor d = Tensor.of(opaque, scope, new float[]{2, 2, 2, 2}, Shape.of(2, 2));
            assertArrayEquals(new float[]{5, Float.NaN, Float.POSITIVE_INFINITY, 4}, TensorNorms.l2(List.of(a, b, c, d)));
        }
    }
}
