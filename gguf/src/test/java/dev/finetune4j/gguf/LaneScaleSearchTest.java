package dev.finetune4j.gguf;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link LaneScaleSearch} (a sub-block per Vector API lane) against {@link ScaleSearch}'s scalar searches sub-block by
 * sub-block, which {@link KQuantsTest} pins to ggml's bytes: every scale, min and quant must be the same bits. The
 * rows: KQuantsTest's edge rows (zero, constant, one-signed, sparse, outlier, sub-EPS, tied, large, bf16) end to end,
 * hand-made sub-blocks (all zero, constant of either sign, -0 beside +0, a single non-zero, all-zero weights), and
 * seeded Gaussian rows of mixed magnitudes under weights with zeros among them; their sub-block counts are 1, one short
 * of and one past the lane count and a few groups and a part, so the padded last group is exercised.
 */
class LaneScaleSearchTest {
    /** Q4_K's and Q5_K's parameters without and with an importance matrix: nmax, rmin, rdelta, nstep. */
    private static final Object[][] FITS = {{15, -1f, 0.1f, 20}, {31, -0.5f, 0.1f, 15}, {15, -0.9f, 0.05f, 36},
        {31, -0.9f, 0.05f, 36}};

    static Stream<Arguments> rows() {
        int lanes = LaneScaleSearch.LANES;
        Stream.Builder<Arguments> rows = Stream.builder();
        float[] edges = edgeRows();
        // 32-value sub-blocks: all of KQuantsTest's rows but the last three sub-blocks, so the last group is a part
        rows.add(Arguments.of("edge rows", Arrays.copyOf(edges, edges.length - 3 * 32)));
        rows.add(Arguments.of("hand-made sub-blocks", handMade()));
        for (int blocks : new int[] {1, lanes - 1, lanes + 1, 3 * lanes + 5}) {
            rows.add(Arguments.of("random, " + blocks + " sub-blocks of 32", random(32 * blocks, blocks)));
        }
        return rows.build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void fitsEveryScaleAndMinAsTheScalarSearch(String name, float[] row) {
        float[] weights = weights(row, 32);
        int blocks = row.length / 32;
        for (Object[] fit : FITS) {
            int nmax = (int) fit[0];
            float rmin = (float) fit[1];
            float rdelta = (float) fit[2];
            int nstep = (int) fit[3];
            int[] expectedQ = new int[row.length];
            float[] expectedScales = new float[blocks];
            float[] expectedMins = new float[blocks];
            ScaleSearch.fitEachScaleAndMin(row, 32, weights, nmax, rmin, rdelta, nstep, expectedQ, expectedScales,
                    expectedMins);
            int[] q = new int[row.length];
            float[] scales = new float[blocks];
            float[] mins = new float[blocks];
            LaneScaleSearch.fitScalesAndMins(row, 32, weights, nmax, rmin, rdelta, nstep, q, scales, mins);
            String what = name + ", nmax " + nmax + ", nstep " + nstep;
            assertSameBits(expectedScales, scales, what + ": scale");
            assertSameBits(expectedMins, mins, what + ": min");
            assertSameQuants(expectedQ, q, 32, what);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void findsEverySymmetricScaleAsTheScalarSearch(String name, float[] row) {
        // 16-value sub-blocks: the same rows, so twice the sub-blocks (the counts above, doubled, stay off the lanes)
        float[] weights = weights(row, 16);
        int blocks = row.length / 16;
        for (int nmax : new int[] {32, 4}) {
            for (float[] w : new float[][] {null, weights}) {
                int[] expectedL = new int[row.length];
                float[] expectedScales = new float[blocks];
                ScaleSearch.eachSymmetricScale(row, 16, nmax, w, expectedL, expectedScales);
                int[] l = new int[row.length];
                float[] scales = new float[blocks];
                LaneScaleSearch.symmetricScales(row, 16, nmax, w, l, scales);
                String what = name + ", nmax " + nmax + (w == null ? ", x² weights" : ", given weights");
                assertSameBits(expectedScales, scales, what + ": scale");
                assertSameQuants(expectedL, l, 16, what);
            }
        }
    }

    private static void assertSameBits(float[] expected, float[] actual, String what) {
        for (int b = 0; b < expected.length; b++) {
            if (Float.floatToIntBits(expected[b]) != Float.floatToIntBits(actual[b])) {
                fail(what + " of sub-block " + b + ": expected " + expected[b] + ", got " + actual[b]);
            }
        }
    }

    private static void assertSameQuants(int[] expected, int[] actual, int n, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                fail(what + ": quant " + i % n + " of sub-block " + i / n + ": expected " + expected[i] + ", got "
                        + actual[i]);
            }
        }
    }

    private static float[] edgeRows() {
        try {
            return KQuantsTest.floats("rows.f32");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Eight 32-value sub-blocks (sixteen of 16) of the cases the searches branch on. */
    private static float[] handMade() {
        float[] row = new float[8 * 32];
        Arrays.fill(row, 32, 64, 0.25f); // constant and positive: the min is clamped to 0
        Arrays.fill(row, 64, 96, -0.25f); // constant and negative: max == min
        for (int i = 96; i < 128; i++) {
            row[i] = i % 2 == 0 ? -0f : 0f;
        }
        row[128 + 17] = -3e-3f; // a single non-zero value
        for (int i = 160; i < 256; i++) {
            row[i] = (float) Math.sin(i) * (i < 192 ? 1e-16f : i < 224 ? 1e4f : 1e-3f); // sub-EPS, large, small
        }
        return row;
    }

    /** Gaussian values, each sub-block at its own magnitude between 1e-6 and 10. */
    private static float[] random(int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] row = new float[length];
        for (int at = 0; at < length; at += 16) {
            double magnitude = Math.pow(10, random.nextDouble(-6, 1));
            for (int i = at; i < at + 16; i++) {
                row[i] = (float) (random.nextGaussian() * magnitude);
            }
        }
        return row;
    }

    /**
     * Weights as K-quants fit under them ({@code sqrt(mean x²) + |x|} per sub-block), one in ten set to 0, and the
     * second sub-block's all 0, so the fits meet a singular system.
     */
    private static float[] weights(float[] row, int n) {
        SplittableRandom random = new SplittableRandom(11);
        float[] weights = new float[row.length];
        for (int at = 0; at < row.length; at += n) {
            float sumX2 = 0f;
            for (int i = at; i < at + n; i++) {
                sumX2 += row[i] * row[i];
            }
            float avX = (float) Math.sqrt(sumX2 / n);
            for (int i = at; i < at + n; i++) {
                weights[i] = at == n || random.nextInt(10) == 0 ? 0f : avX + Math.abs(row[i]);
            }
        }
        return weights;
    }
}
