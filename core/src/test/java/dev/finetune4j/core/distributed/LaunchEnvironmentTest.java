package dev.finetune4j.core.distributed;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A rank's options from torchrun's variables and finetune4j's overrides. */
class LaunchEnvironmentTest {

    private static Map<String, String> torchrun() {
        return new HashMap<>(Map.of("RANK", "2", "WORLD_SIZE", "4", "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29500"));
    }

    @Test
    void torchrunsVariablesGiveTheOptionsWithDefaultTimeoutsAndNoToken() {
        SocketCollective.Options o = SocketCollective.Options.fromEnvironment(torchrun());
        assertEquals(new SocketCollective.Options(2, 4, "10.0.0.1", 29500, Duration.ofMinutes(30),
                Duration.ofMinutes(30), ""), o);
    }

    @Test
    void finetune4jsVariablesOverrideTorchrunsAndSetTheTokenAndTimeout() {
        Map<String, String> env = torchrun();
        env.putAll(Map.of("FINETUNE4J_RANK", "1", "FINETUNE4J_WORLD_SIZE", "2", "FINETUNE4J_MASTER_ADDR", " node-a ",
                "FINETUNE4J_MASTER_PORT", "4000", "FINETUNE4J_DIST_TOKEN", "s3cret", "FINETUNE4J_DIST_TIMEOUT", "90"));
        SocketCollective.Options o = SocketCollective.Options.fromEnvironment(env);
        assertEquals(new SocketCollective.Options(1, 2, "node-a", 4000, Duration.ofSeconds(90),
                Duration.ofSeconds(90), "s3cret"), o);
        assertFalse(o.toString().contains("s3cret"), o.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
    void aMissingVariableIsNamedWithItsOverrideAndAnExample(String name) {
        Map<String, String> env = torchrun();
        env.remove(name);
        String message = fails(env);
        assertTrue(message.startsWith(name + " is not set"), message);
        assertTrue(message.contains("FINETUNE4J_" + name), message);
        assertTrue(message.contains("e.g. " + name + "="), message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "RANK|two|RANK is 'two', not a whole number: e.g. RANK=0",
            "WORLD_SIZE|0|WORLD_SIZE is 0, outside 1 to 65536: e.g. WORLD_SIZE=4",
            "WORLD_SIZE|100000|WORLD_SIZE is 100000, outside 1 to 65536: e.g. WORLD_SIZE=4",
            "RANK|4|RANK=4 is not below WORLD_SIZE=4: the ranks of a world of 4 are 0 to 3",
            "RANK|-1|RANK is -1, outside 0 to 2147483647: e.g. RANK=0",
            "MASTER_ADDR|'  '|MASTER_ADDR is empty: give rank 0's host name or address, e.g. MASTER_ADDR=10.0.0.1",
            "MASTER_PORT|70000|MASTER_PORT is 70000, outside 1 to 65535: e.g. MASTER_PORT=29500",
            "MASTER_PORT|''|MASTER_PORT is '', not a whole number: e.g. MASTER_PORT=29500",
            "FINETUNE4J_MASTER_PORT|http|FINETUNE4J_MASTER_PORT is 'http', not a whole number: "
                    + "e.g. FINETUNE4J_MASTER_PORT=29500",
            "FINETUNE4J_DIST_TIMEOUT|1.5|FINETUNE4J_DIST_TIMEOUT is '1.5', not a whole number: "
                    + "e.g. FINETUNE4J_DIST_TIMEOUT=1800",
            "FINETUNE4J_DIST_TIMEOUT|0|FINETUNE4J_DIST_TIMEOUT is 0, outside 1 to 2147483647: "
                    + "e.g. FINETUNE4J_DIST_TIMEOUT=1800",
    })
    void aMalformedVariableIsNamedWithItsValueAndAnExample(String name, String value, String expected) {
        Map<String, String> env = torchrun();
        env.put(name, value);
        assertEquals(expected, fails(env));
    }

    private static String fails(Map<String, String> env) {
        return assertThrows(IllegalArgumentException.class, () -> SocketCollective.Options.fromEnvironment(env))
                .getMessage();
    }
}
