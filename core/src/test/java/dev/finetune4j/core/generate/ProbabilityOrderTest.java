package dev.finetune4j.core.generate;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The lazy order against its definition, a stable sort of every id by descending probability, and sampling through
 * it against the sampler written over that full sort: the same token for the same logits, settings and random
 * stream.
 */
class ProbabilityOrderTest {

    @Test
    void everyRankMatchesAStableSortByDescendingProbability() {
        SplittableRandom random = new SplittableRandom(11);
        double[][] cases = {
                {0.5, 0.25, 0.25, 0, 1, 0.125, 0.5},                         // ties within a band, 0 and 1
                {Double.MIN_VALUE, 0, 3 * Double.MIN_VALUE, 1e-310, 1e-300}, // subnormals share the last band
                {0.3, 0.3, 0.3, 0.1},
                {Double.NaN, 0.2, 0.8},                                       // NaN first, as Double.compare has it
                random.doubles(5_000).map(x -> Math.floor(x * 64) / 64).toArray(), // many ties in every band
                random.doubles(20_000).map(x -> Math.exp(-40 * x)).toArray(),
        };
        for (double[] p : cases) {
            ProbabilityOrder order = new ProbabilityOrder(p);
            int[] lazy = IntStream.range(0, p.length).map(order::id).toArray();
            assertArrayEquals(stableSortByDescending(p), lazy, Arrays.toString(Arrays.copyOf(p, 8)));
        }
    }

    @Test
    void samplingPicksWhatTheFullSortPicks() {
        SplittableRandom shapes = new SplittableRandom(5);
        for (int trial = 0; trial < 300; trial++) {
            int v = 1 + shapes.nextInt(3_000);
            double spread = 0.1 + shapes.nextDouble() * 8;
            boolean coarse = shapes.nextBoolean(); // logits on a grid: equal probabilities everywhere
            float[] logits = new float[v];
            for (int i = 0; i < v; i++) {
                double x = shapes.nextGaussian() * spread;
                logits[i] = (float) (coarse ? Math.rint(x) : x);
            }
            GenerationConfig cfg = GenerationConfig.builder()
                    .temperature((float) (0.2 + shapes.nextDouble() * 1.5))
                    .topK(shapes.nextInt(4) == 0 ? 1 + shapes.nextInt(100) : 0)
                    .topP(shapes.nextInt(3) == 0 ? 1f : (float) (0.05 + shapes.nextDouble() * 0.95))
                    .build();
            long seed = shapes.nextLong();
            SplittableRandom ours = new SplittableRandom(seed);
            SplittableRandom reference = new SplittableRandom(seed);
            for (int draw = 0; draw < 5; draw++) {
                assertEquals(fullSortSample(logits, cfg, reference), LogitsProcessing.sample(logits, cfg, ours),
                        "trial " + trial + ", draw " + draw + ": V " + v + ", " + cfg);
            }
        }
    }

    private static int[] stableSortByDescending(double[] p) {
        Integer[] ids = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
        Arrays.sort(ids, Comparator.comparingDouble((Integer i) -> p[i]).reversed()); // TimSort: stable
        return Arrays.stream(ids).mapToInt(Integer::intValue).toArray();
    }

    /**
     * The sampler's definition over the whole vocabulary sorted at once: top-k (ties with the k-th kept), then top-p
     * below 1 over the
     * probability top-k kept; the draw walks the kept tokens from the most probable, or every id in order when
     * nothing was cut.
     */
    private static int fullSortSample(float[] logits, GenerationConfig cfg, SplittableRandom random) {
        int v = logits.length;
        double[] p = new double[v];
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logits[i] - max) / cfg.temperature());
            sum += p[i];
        }
        for (int i = 0; i < v; i++) {
            p[i] /= sum;
        }
        int[] order = stableSortByDescending(p);
        int keep = cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v;
        while (keep < v && p[order[keep]] == p[order[keep - 1]]) {
            keep++; // Hugging Face's top-k removes only scores below the k-th
        }
        double keptByTopK = 0; // top-p measures against what top-k kept, as Hugging Face's warpers do
        for (int r = 0; r < keep; r++) {
            keptByTopK += p[order[r]];
        }
        double cumulative = 0;
        for (int r = 0; r < keep && cfg.topP() < 1; r++) {
            cumulative += p[order[r]];
            if (cumulative >= cfg.topP() * (keep < v ? keptByTopK : 1)) {
                keep = r + 1;
                break;
            }
        }
        int[] walk = keep == v ? IntStream.range(0, v).toArray() : Arrays.copyOf(order, keep);
        double total = 0;
        for (int id : walk) {
            total += p[id];
        }
        double u = random.nextDouble() * total;
        for (int id : walk) {
            u -= p[id];
            if (u <= 0) {
                return id;
            }
        }
        return walk[walk.length - 1];
    }
}
