package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Option combinations that cannot load are refused when built, not after reading the checkpoint. */
class LoadOptionsTest {

    @Test
    void theMetaDeviceIsRefusedWhenTheOptionsAreBuilt() {
        // it used to load the whole checkpoint into placeholders, and the first forward pass then failed
        var e = assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().device(Device.meta()).build());
        assertTrue(e.getMessage().contains("meta") && e.getMessage().contains("Device.cpu()"), e.getMessage());
    }

    @Test
    void integerDtypesAreRefusedAndDefaultsKeepTheCheckpoints() {
        var e = assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().dtype(DType.I8).build());
        assertTrue(e.getMessage().contains("I8"), e.getMessage());
        LoadOptions nf4 = LoadOptions.builder().device(Device.cpu()).quantization(Quantization.NF4).build();
        assertNull(nf4.dtype(), "unset: each weight keeps its checkpoint dtype");
        assertEquals(Quantization.NF4, nf4.quantization());
    }
}
