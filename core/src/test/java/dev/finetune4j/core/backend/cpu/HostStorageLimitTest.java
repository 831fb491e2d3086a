package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.MemoryCounter;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A short-lived CPU tensor past one Java array's size is refused with its size, not a bare "integer overflow". */
class HostStorageLimitTest {
    @Test
    void aTensorPastOneArrayIsRefusedNamingItsSize() {
        long bytes = (1L << 31) * Float.BYTES; // 2^31 floats: 8 GiB, refused before anything is allocated
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HostStorage.allocateHeap(bytes, true, new MemoryCounter()));
        assertTrue(e.getMessage().contains(bytes + " bytes") && e.getMessage().contains("split the work"), e.getMessage());
        assertEquals(64L, HostStorage.allocateHeap(64, true, new MemoryCounter()).segment().byteSize());
    }
}
