package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CudaExceptionTest {

    @Test
    void namesTheCallTheErrorAndItsCode() {
        assertEquals("cuMemAlloc(64 bytes) failed: CUDA_ERROR_INVALID_VALUE (invalid argument, code 1)",
                CudaException.describe("cuMemAlloc(64 bytes)", 1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"));
        assertEquals("nvrtcCompileProgram(norms.cu) failed: NVRTC_ERROR_COMPILATION (code 6)",
                CudaException.describe("nvrtcCompileProgram(norms.cu)", 6, "NVRTC_ERROR_COMPILATION", null));
        assertEquals("cublasCreate failed: unknown error (code 999)", CudaException.describe("cublasCreate", 999, null, ""));
    }

    @Test
    void outOfMemorySaysWhatWasAskedWhatIsFreeAndWhatToTry() {
        assertEquals("out of GPU memory: asked for 2.00 GiB, 512.0 MiB free of 80.00 GiB on the device. Try a smaller"
                        + " micro-batch (more gradient accumulation steps), gradient checkpointing, or QLoRA (a 4-bit base model)",
                CudaException.outOfMemory(2L << 30, 512L << 20, 80L << 30));
    }
}
