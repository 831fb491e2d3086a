package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cuBLAS binding links every function it declares, and a failed status becomes an exception naming the call
 * and cuBLAS's status (skipped where no libcublas is found, e.g. point FINETUNE4J_CUDA_LIBS at the lib folder of
 * the nvidia-cublas wheel).
 */
class CublasBindingTest {
    private static Arena arena;
    private static Cublas cublas;

    @BeforeAll
    static void load() {
        arena = Arena.ofShared();
        try {
            cublas = CudaLibraries.loadCublas(LibraryFinder.usualFolders(System.getenv()),
                    System.getenv(LibraryFinder.ENV), arena);
        } catch (LibraryFinder.NotFound e) {
            Assumptions.assumeTrue(false, e.getMessage());
        }
    }

    @AfterAll
    static void unload() {
        arena.close();
    }

    @Test
    void aFailedCallNamesItselfAndTheCublasStatus() {
        Assumptions.assumeTrue(new CudaBackendProvider().unavailableReason(0).isPresent(),
                "with a GPU, creating a handle succeeds");
        CudaException e = assertThrows(CudaException.class, () -> cublas.createHandle(MemorySegment.NULL));
        assertTrue(e.getMessage().matches("cublasCreate failed: CUBLAS_STATUS_\\w+ \\(.*code \\d+\\)"), e.getMessage());
    }
}
