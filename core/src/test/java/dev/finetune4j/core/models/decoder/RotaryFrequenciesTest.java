package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /**
     * Longrope's switch: by transformers' rule the largest position of the pass decides for every row; with sequence
     * lengths (a serving batch) each row is judged by its own, whatever its positions (a prompt's first chunk).
     */
    @Test
    void longropeSwitchesPerPassOrPerRow() {
        RotaryFrequencies longrope = new RotaryFrequencies(new float[]{1f, 0.5f}, 1f)
                .switchingBeyond(4, new RotaryFrequencies(new float[]{0.25f, 0.125f}, 1f));
        int[][] decoding = {{2}, {5}};
        try (var pass = TensorScope.open()) {
            assertArrayEquals(cos(2 * 0.25, 2 * 0.125, 5 * 0.25, 5 * 0.125),
                    longrope.table(decoding, Device.cpu()).cos().toFloatArray(), 1e-7f, "position 5 passes 4: all long");
            assertArrayEquals(cos(2, 2 * 0.5, 5 * 0.25, 5 * 0.125),
                    longrope.table(new int[][]{{2}, {5}}, new int[]{3, 6}, Device.cpu()).cos().toFloatArray(), 1e-7f,
                    "each row by its own length");
            assertArrayEquals(cos(0, 0, 1 * 0.25, 1 * 0.125),
                    longrope.table(new int[][]{{0}, {1}}, new int[]{2, 9}, Device.cpu()).cos().toFloatArray(), 1e-7f,
                    "the first chunk of a 9-token prompt takes the long factors");
            assertArrayEquals(cos(0, 0, 1, 0.5),
                    longrope.table(new int[][]{{0}, {1}}, new int[]{4, 4}, Device.cpu()).cos().toFloatArray(), 1e-7f,
                    "4 tokens do not pass 4");
        }
    }

    /**
     * Ministral 3's temperature folded into the queries' tables: at each position cos and sin are the keys' times
     * 1 + beta ln(1 + floor(p / 2)), for consecutive positions (the kept table) and others; rotating by them scales the
     * output, and the gradient of the input, by that same constant of the position (d(f R q) / dq = f R^T).
     */
    @Test
    void theQueriesTablesCarryTheTemperatureIntoTheRotationAndItsBackward() {
        float[] invFreq = {1f, 0.5f};
        QueryTemperature temperature = new QueryTemperature(0.5, 2);
        int b = 1;
        int h = 2;
        int d = 4;
        try (var model = TensorScope.detached()) {
            RotaryFrequencies keys = new RotaryFrequencies(invFreq, 1.25f).withQueryFactor(temperature)
                    .cachingTablesIn(() -> model);
            assertSame(keys.queries(), keys.queries(), "the layers share one queries' instance");
            for (int[][] positions : new int[][][]{{{0, 1, 2, 3, 4, 5}}, {{7, 3, 9, 0, 4, 2}}}) {
                int t = positions[0].length;
                try (var pass = TensorScope.open()) {
                    Rotary.Table plain = keys.table(positions, Device.cpu());
                    Rotary.Table scaled = keys.queries().table(positions, Device.cpu());
                    float[] gradOut = GradCheck.randn(7, b * h * t * d);
                    float[][] outputs = new float[2][];
                    float[][] grads = new float[2][];
                    for (int k = 0; k < 2; k++) {
                        Tensor x = Tensor.of(GradCheck.randn(3, b * h * t * d), b, h, t, d).requiresGrad(true);
                        Tensor out = Rotary.apply(x, k == 0 ? plain : scaled);
                        Autograd.backward(out, Tensor.of(gradOut, b, h, t, d));
                        outputs[k] = out.toFloatArray();
                        grads[k] = x.grad().toFloatArray();
                    }
                    float[] cos = plain.cos().toFloatArray();
                    float[] scaledCos = scaled.cos().toFloatArray();
                    float[] sin = plain.sin().toFloatArray();
                    float[] scaledSin = scaled.sin().toFloatArray();
                    for (int p = 0; p < t; p++) {
                        double factor = 1 + 0.5 * Math.log(1 + Math.floor(positions[0][p] / 2.0));
                        for (int i = 0; i < invFreq.length; i++) {
                            int at = p * invFreq.length + i;
                            assertEquals(factor * cos[at], scaledCos[at], 1e-6, "cos at position " + positions[0][p]);
                            assertEquals(factor * sin[at], scaledSin[at], 1e-6, "sin at position " + positions[0][p]);
                        }
                        for (int head = 0; head < h; head++) {
                            for (int j = 0; j < d; j++) {
                                int at = (head * t + p) * d + j;
                                assertEquals(factor * outputs[0][at], outputs[1][at], 1e-5, "output " + at);
                                assertEquals(factor * grads[0][at], grads[1][at], 1e-5, "gradient " + at);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Mistral 4's no-rope query dimensions: the unrotated queries' tables multiply each position by the temperature
     * alone (the input times 1 + beta ln(1 + floor(p / 2)), by hand), and so does the backward; none without a factor.
     */
    @Test
    void theUnrotatedQueriesTablesScaleByTheTemperatureAlone() {
        QueryTemperature temperature = new QueryTemperature(0.5, 2);
        RotaryFrequencies plain = new RotaryFrequencies(new float[]{1f, 0.5f}, 1.25f);
        assertNull(plain.unrotatedQueries());
        assertNull(plain.withQueryFactor(temperature).unrotatedQueries(), "no unrotated dimensions asked for");
        try (var model = TensorScope.detached()) {
            RotaryFrequencies unrotated = plain.withQueryFactor(temperature, 6).cachingTablesIn(() -> model)
                    .unrotatedQueries();
            int[][] positions = {{0, 1, 2, 3, 4, 9}, {5, 0, 8, 1, 6, 3}};
            int b = 2;
            int h = 3;
            int t = 6;
            int d = 6;
            try (var pass = TensorScope.open()) {
                for (RotaryLayout layout : RotaryLayout.values()) {
                    float[] input = GradCheck.randn(11, b * h * t * d);
                    float[] gradOut = GradCheck.randn(12, b * h * t * d);
                    Tensor x = Tensor.of(input, b, h, t, d).requiresGrad(true);
                    Tensor out = Rotary.apply(x, unrotated.table(positions, Device.cpu()), layout);
                    Autograd.backward(out, Tensor.of(gradOut, b, h, t, d));
                    float[] y = out.toFloatArray();
                    float[] dx = x.grad().toFloatArray();
                    for (int i = 0; i < y.length; i++) {
                        int row = i / (h * t * d);
                        int p = positions[row][i / d % t];
                        double factor = 1 + 0.5 * Math.log(1 + Math.floor(p / 2.0));
                        assertEquals(factor * input[i], y[i], 1e-5, layout + " output " + i);
                        assertEquals(factor * gradOut[i], dx[i], 1e-5, layout + " gradient " + i);
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> plain.withQueryFactor(temperature, 5));
    }

    private static float[] cos(double... angles) {
        float[] out = new float[angles.length];
        for (int i = 0; i < angles.length; i++) {
            out[i] = (float) Math.cos((float) angles[i]);
        }
        return out;
    }
}
