package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kernel family compiles through the Nvrtc binding as the backend compiles it (no GPU needed; skipped when
 * no libnvrtc is found, e.g. point FINETUNE4J_CUDA_LIBS at the lib folder of the nvidia-cuda-nvrtc wheel).
 */
class NvrtcCompileTest {
    private static Arena arena;
    private static Nvrtc nvrtc;

    @BeforeAll
    static void load() {
        arena = Arena.ofShared();
        try {
            nvrtc = CudaLibraries.loadNvrtc(LibraryFinder.usualFolders(System.getenv()),
                    System.getenv(LibraryFinder.ENV), arena);
        } catch (LibraryFinder.NotFound e) {
            nvrtc = null;
            Assumptions.assumeTrue(false, e.getMessage());
        }
    }

    @AfterAll
    static void unload() {
        arena.close();
    }

    @Test
    void everyFamilyCompilesToAHopperCubin() {
        for (String name : KernelSources.FAMILIES) {
            KernelSources.Family family = KernelSources.family(name);
            byte[] cubin = nvrtc.compile(family.file(), family.source(), family.headers(),
                    CudaKernels.compilerOptions("sm_90"));
            assertTrue(cubin.length > 64, name);
            assertEquals(0x7f, cubin[0], name + " is not an ELF image");
            assertEquals('E', cubin[1], name + " is not an ELF image");
        }
        assertTrue(nvrtc.version().matches("1[2-9]\\.\\d+"), nvrtc.version());
    }

    @Test
    void aCompileErrorCarriesTheCompilerLog() {
        CudaException e = assertThrows(CudaException.class, () -> nvrtc.compile("broken.cu",
                "extern \"C\" __global__ void k(float* x) { x[0] = undefined_name; }", Map.of(),
                List.of("--gpu-architecture=sm_90")));
        assertTrue(e.getMessage().startsWith("nvrtcCompileProgram(broken.cu) failed: NVRTC_ERROR_COMPILATION"),
                e.getMessage());
        assertTrue(e.getMessage().contains("undefined_name"), e.getMessage());
    }
}
