package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class KernelCacheTest {
    private static final List<String> OPTIONS = CudaKernels.compilerOptions("sm_90");

    @Test
    void theKeyChangesWithSourceHeaderArchitectureOptionsAndCompilerVersion() {
        String key = KernelCache.key("src", "hdr", "sm_90", OPTIONS, "13.0");
        assertEquals(64, key.length());
        assertEquals(key, KernelCache.key("src", "hdr", "sm_90", OPTIONS, "13.0"));
        assertNotEquals(key, KernelCache.key("src2", "hdr", "sm_90", OPTIONS, "13.0"));
        assertNotEquals(key, KernelCache.key("src", "hdr2", "sm_90", OPTIONS, "13.0"));
        assertNotEquals(key, KernelCache.key("src", "hdr", "sm_80", OPTIONS, "13.0"));
        assertNotEquals(key, KernelCache.key("src", "hdr", "sm_90", List.of("--std=c++17"), "13.0"));
        assertNotEquals(key, KernelCache.key("src", "hdr", "sm_90", OPTIONS, "12.8"));
        // Parts are length-prefixed: moving text from one part to the next changes the key.
        assertNotEquals(KernelCache.key("ab", "c", "sm_90", OPTIONS, "13.0"), KernelCache.key("a", "bc", "sm_90", OPTIONS, "13.0"));
    }

    @Test
    void compilesOnceThenReadsTheCubinFromDisk(@TempDir Path dir) {
        AtomicInteger compilations = new AtomicInteger();
        byte[] image = {1, 2, 3};
        KernelCache cache = new KernelCache(dir);
        assertArrayEquals(image, cache.cubin("norms", "k1", () -> {
            compilations.incrementAndGet();
            return image;
        }));
        assertArrayEquals(image, new KernelCache(dir).cubin("norms", "k1", () -> {
            compilations.incrementAndGet();
            return new byte[0];
        }));
        assertEquals(1, compilations.get());
        new KernelCache(dir).cubin("norms", "k2", () -> {
            compilations.incrementAndGet();
            return image;
        });
        assertEquals(2, compilations.get(), "another key compiles again");
    }
}
