package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.BackendProvider;
import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaBackendProviderTest {

    @Test
    void isRegisteredForCuda() {
        assertTrue(ServiceLoader.load(BackendProvider.class).stream()
                .anyMatch(p -> p.type() == CudaBackendProvider.class));
    }

    @Test
    void saysWhyADeviceCannotBeUsedWithoutThrowing() {
        CudaBackendProvider provider = new CudaBackendProvider();
        Optional<String> first = provider.unavailableReason(0);
        first.ifPresent(why -> assertFalse(why.isBlank()));
        Optional<String> far = provider.unavailableReason(1000);
        assertTrue(far.isPresent(), "no machine has 1001 GPUs");
        assertFalse(far.get().isBlank());
    }
}
