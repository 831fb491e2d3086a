package dev.finetune4j.core.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device names a user types: what parses, and what is refused with the accepted forms named. */
class DeviceTest {

    @Test
    void parsesTheAcceptedForms() {
        assertEquals(Device.cpu(), Device.parse(" cpu "));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        assertTrue(Device.parse("cpu:0").isCpu());
        assertEquals(Device.meta(), Device.parse("meta"));
    }

    @Test
    void refusesMalformedNames() {
        for (String bad : new String[]{"cuda:x", "cuda:", "CUDA", "", "cuda:-1", "gpu 0"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad), bad);
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
    }

    @Test
    void thereIsOneCpuAndOneMetaDevice() {
        // cpu:1 used to parse, and its backend() then asked for a module providing 'cpu' devices
        var cpu = assertThrows(IllegalArgumentException.class, () -> Device.parse("cpu:1"));
        assertTrue(cpu.getMessage().contains("cpu:1") && cpu.getMessage().contains("Device.cpu()"), cpu.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Device("meta", 2));
    }

    @Test
    void aGpuThatCannotBeUsedIsRefusedWithTheReasonNotACrash() {
        Device gpu = Device.cuda(5);
        assertEquals("cuda:5", gpu.toString(), "naming a device does not start it");
        try {
            gpu.backend(); // a machine with six GPUs may serve it
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage().contains("cuda:5"), e.getMessage());
        }
    }
}
