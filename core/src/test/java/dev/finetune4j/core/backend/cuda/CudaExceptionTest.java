package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void aFaultThatLosesTheContextSaysToRestartAndHowToNameTheKernel() {
        String lost = CudaException.describeDriver("cuMemcpyDtoH(4 bytes)", 700, "CUDA_ERROR_ILLEGAL_ADDRESS",
                "an illegal memory access was encountered");
        assertTrue(lost.startsWith("cuMemcpyDtoH(4 bytes) failed: CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access"
                + " was encountered, code 700). A kernel failed on the device, and the CUDA context of this process is"
                + " lost"), lost);
        assertTrue(lost.contains("restarted") && lost.contains("FINETUNE4J_CUDA_SYNC=1"), lost);
        for (int status : new int[]{702, 714, 715, 716, 717, 718, 719}) {
            assertTrue(CudaException.describeDriver("cuStreamSynchronize", status, "E", "e").contains("context of this"
                    + " process is lost"), "status " + status);
        }
        // an error the process recovers from (here: too many resources asked for one launch) keeps the plain message
        assertEquals(CudaException.describe("cuLaunchKernel(k)", 701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many"),
                CudaException.describeDriver("cuLaunchKernel(k)", 701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many"));
    }

    @Test
    void outOfMemorySaysWhatWasAskedWhatIsFreeAndWhatToTry() {
        assertEquals("out of GPU memory: asked for 2.00 GiB, 512.0 MiB free of 80.00 GiB on the device. Try a smaller"
                        + " micro-batch (more gradient accumulation steps), gradient checkpointing, or QLoRA (a 4-bit base model)",
                CudaException.outOfMemory(2L << 30, 512L << 20, 80L << 30));
    }
}
