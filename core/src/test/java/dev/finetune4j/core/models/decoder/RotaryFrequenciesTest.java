package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rotary table cache: shared by the layers of one pass, never handed out after its scope closed. */
class RotaryFrequenciesTest {
    private final RotaryFrequencies frequencies = new RotaryFrequencies(new float[]{1f, 0.5f}, 1f);

    @Test
    void oneTablePerPassWhileItsScopeIsOpen() {
        int[][] positions = {{0, 1, 2}};
        Rotary.Table first;
        try (var pass = TensorScope.open()) {
            first = frequencies.table(positions, Device.cpu());
            assertSame(first, frequencies.table(positions, Device.cpu()), "the layers of one pass share the table");
        }
        try (var nextPass = TensorScope.open()) {
            Rotary.Table next = frequencies.table(positions, Device.cpu());
            assertNotSame(first, next, "a table whose scope closed is not reused");
            assertTrue(next.usableOn(Device.cpu()));
            assertNotSame(next, frequencies.table(new int[][]{{0, 1, 2}}, Device.cpu()), "other positions, other table");
            assertArrayEquals(new float[]{1f, 1f, (float) Math.cos(1), (float) Math.cos(0.5), (float) Math.cos(2), (float) Math.cos(1)},
                    next.cos().toFloatArray(), 1e-7f);
        }
    }

    /**
     * Rows that all hold the same run of consecutive positions read the model's kept table: the same values as a
     * table made for them, from memory that outlives the pass; other positions get a table of their own.
     */
    @Test
    void consecutivePositionsReadTheKeptTable() {
        float[] invFreq = {1f, 0.5f, 0.25f};
        try (var model = TensorScope.detached()) {
            RotaryFrequencies kept = new RotaryFrequencies(invFreq, 0.5f).cachingTablesIn(() -> model);
            for (int[][] positions : new int[][][]{{{0, 1, 2, 3}, {0, 1, 2, 3}}, {{300, 301}}, {{7}, {7}, {7}}}) {
                try (var pass = TensorScope.open()) {
                    Rotary.Table table = kept.table(positions, Device.cpu());
                    Rotary.Table made = Rotary.Table.of(Device.cpu(), positions, invFreq, 0.5f);
                    assertSame(model, table.cos().scope(), "a view of the kept table");
                    assertArrayEquals(made.cos().toFloatArray(), table.cos().toFloatArray());
                    assertArrayEquals(made.sin().toFloatArray(), table.sin().toFloatArray());
                }
            }
            try (var pass = TensorScope.open()) {
                int[][] packed = {{0, 1, 0, 1}};
                assertSame(pass, kept.table(packed, Device.cpu()).cos().scope(), "not consecutive: made for the pass");
            }
        }
    }
}
