package dev.finetune4j.core.tensor;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-device allocated and peak bytes follow the scopes that own the tensors; devices parse from text. */
class DeviceMemoryTest {

    @Test
    void allocatedBytesFollowScopesAndPeakRemembers() {
        Device device = OpaqueBackendProvider.device();
        device.backend().resetPeak();
        long before = device.memory().allocatedBytes();
        try (var params = TensorScope.detached(device)) {
            Tensor.zeros(params, DType.F32, Shape.of(1000));
            try (var step = TensorScope.open()) {
                Tensor.zeros(step, device, DType.BF16, Shape.of(500));
                assertEquals(before + 4000 + 1000, device.memory().allocatedBytes());
            }
            MemoryStats after = device.memory();
            assertEquals(before + 4000, after.allocatedBytes(), "the step's tensor went with its scope");
            assertEquals(before + 5000, after.peakBytes());
            Tensor early = Tensor.zeros(params, DType.F32, Shape.of(10));
            params.release(early);
            assertEquals(before + 4000, device.memory().allocatedBytes(), "released early");
        }
        assertEquals(before, device.memory().allocatedBytes());
    }

    @Test
    void devicesParseFromTheirNames() {
        assertEquals(Device.cpu(), Device.parse("cpu"));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        assertEquals("cuda:3", Device.cuda(3).toString());
        var e = assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu:x"));
        assertTrue(e.getMessage().contains("cuda:N"), e.getMessage());
        // The CUDA provider is on the class path: auto() is cuda:0 where it can run, else the CPU, and then
        // asking for cuda:0 says why it cannot be used.
        Device auto = Device.auto();
        if (auto.isCpu()) {
            var missing = assertThrows(IllegalStateException.class, () -> Device.cuda(0).backend());
            assertTrue(missing.getMessage().startsWith("device cuda:0 cannot be used: "), missing.getMessage());
        } else {
            assertEquals(Device.cuda(0), auto);
        }
    }
}
