package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The emulated device orders work as a stream does, so that a missing synchronization shows up without a GPU:
 * nothing queued has happened before the stream is synchronized, and memory is not freed under queued work that
 * may use it. A kernel that writes past an allocation's end is named.
 */
class EmulatedCudaTest {
    private CudaDriver driver;
    private MemorySegment stream;

    @BeforeEach
    void open() {
        Assumptions.assumeTrue(EmulatedCudaProvider.unavailableReason().isEmpty(),
                () -> EmulatedCudaProvider.unavailableReason().orElse(""));
        driver = new CudaDriver(new NativeFunctions(EmulatedCudaProvider.libraries()));
        driver.setCurrent(driver.primaryContextRetain(0));
        stream = driver.streamCreate();
    }

    @Test
    void aCopyIntoPinnedMemoryLandsWhenTheStreamIsSynchronizedNotBefore() {
        MemorySegment host = driver.hostAlloc(16);
        long device = driver.memAlloc(16);
        host.fill((byte) 1);
        driver.memsetAsync(device, (byte) 7, 16, stream);
        driver.copyDeviceToHostAsync(host, device, 16, stream);
        assertEquals(1, host.get(ValueLayout.JAVA_BYTE, 15), "the copy has not run before the stream is synchronized");
        driver.streamSynchronize(stream);
        assertEquals(7, host.get(ValueLayout.JAVA_BYTE, 15));
        driver.memFree(device);
        driver.hostFree(host);
        driver.streamDestroy(stream);
    }

    @Test
    void aKernelWritingPastTheEndOfAnAllocationFailsNamingIt() {
        Device device = EmulatedCudaProvider.device();
        try (TensorScope scope = TensorScope.open()) {
            Tensor dOut = Tensor.of(device, scope, new float[]{1, 2, 3, 4}, Shape.of(2, 2));
            // Row 70 of a (3, 2) table: the float at byte 560, past the 512-byte block the allocator asked the driver
            // for; adding to the guard's signalling NaN quiets it, which sets a bit of its byte 562.
            Tensor ids = Tensor.ofLongs(device, new long[]{0, 70}, Shape.of(2));
            Tensor dWeight = Tensor.zeros(scope, device, DType.F32, Shape.of(3, 2));
            AssertionError e = assertThrows(AssertionError.class, () -> {
                device.backend().embedding().scatterAdd(dOut, ids, dWeight);
                dWeight.toFloatArray();
            });
            assertTrue(e.getMessage().startsWith("embedding.cu's scatter_add wrote byte 562 of the 512-byte device"),
                    e.getMessage());
        }
    }

    @Test
    void freeingAPinnedBufferThatAQueuedCopyUsesFails() {
        MemorySegment host = driver.hostAlloc(16);
        long device = driver.memAlloc(16);
        driver.copyHostToDeviceAsync(device, host, 16, stream);
        AssertionError e = assertThrows(AssertionError.class, () -> driver.hostFree(host));
        assertTrue(e.getMessage().contains("while a queued copy uses it"), e.getMessage());
        driver.streamSynchronize(stream);
        driver.hostFree(host);
        driver.memFree(device);
        driver.streamDestroy(stream);
    }

    @Test
    void freeingDeviceMemoryUnderQueuedWorkFails() {
        long device = driver.memAlloc(16);
        driver.memsetAsync(device, (byte) 0, 16, stream);
        AssertionError e = assertThrows(AssertionError.class, () -> driver.memFree(device));
        assertTrue(e.getMessage().contains("1 operations are queued"), e.getMessage());
        driver.streamSynchronize(stream);
        driver.memFree(device);
        driver.streamDestroy(stream);
    }
}
