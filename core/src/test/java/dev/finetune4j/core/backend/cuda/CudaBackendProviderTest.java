package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.BackendProvider;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaBackendProviderTest {

    @Test
    void isRegisteredForCuda() {
        assertTrue(ServiceLoader.load(BackendProvider.class).stream()
                .anyMatch(p -> p.type() == CudaBackendProvider.class));
    }

    /** Prints the provider's answer for cuda:0, for {@link #withoutNativeAccessItSaysWhichFlagToAdd}. */
    public static void main(String[] args) {
        System.out.print(new CudaBackendProvider().unavailableReason(0).orElse("available"));
    }

    @Test
    void withoutNativeAccessItSaysWhichFlagToAdd() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                CudaBackendProviderTest.class.getName()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals("native access is not enabled, so the CUDA libraries cannot be loaded: start java with"
                + " --enable-native-access=ALL-UNNAMED", out, err);
        assertFalse(err.contains("restricted method"), "no warning from the loader: " + err);
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
