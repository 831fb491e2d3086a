package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The debugging aids are off unless their environment variable is exactly {@code 1}. */
class CudaChecksTest {

    @Test
    void eachCheckFollowsItsOwnVariable() {
        assertEquals(CudaChecks.NONE, CudaChecks.from(Map.of()));
        assertEquals(new CudaChecks(true, false), CudaChecks.from(Map.of(CudaBackendProvider.SYNC_ENV, "1")));
        assertEquals(new CudaChecks(false, true), CudaChecks.from(Map.of(CudaBackendProvider.POISON_ENV, "1")));
        assertEquals(CudaChecks.NONE, CudaChecks.from(Map.of(CudaBackendProvider.SYNC_ENV, "true",
                CudaBackendProvider.POISON_ENV, "0")));
    }
}
