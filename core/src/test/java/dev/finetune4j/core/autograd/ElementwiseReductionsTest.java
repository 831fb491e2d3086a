package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.function.DoubleBinaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Elementwise arithmetic with broadcasting, and the reductions, against float64 references. */
class ElementwiseReductionsTest {

    /** x broadcast from shape {@code from} to shape {@code to} (NumPy rules), row-major. */
    static double[] broadcast(double[] x, int[] from, int[] to) {
        int n = Math.toIntExact(Shape.of(to).numel());
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            int rest = i;
            int src = 0;
            int stride = 1;
            for (int d = to.length - 1; d >= 0; d--) {
                int idx = rest % to[d];
                rest /= to[d];
                int fd = d - (to.length - from.length);
                if (fd >= 0) {
                    src += (from[fd] == 1 ? 0 : idx) * stride;
                    stride *= from[fd];
                }
            }
            out[i] = x[src];
        }
        return out;
    }

    private static void binary(String name, DoubleBinaryOperator f, java.util.function.BinaryOperator<Tensor> op,
                               int[] sa, int[] sb, boolean positiveB) {
        int[] so = Elementwise.broadcastShape(Shape.of(sa), Shape.of(sb)).dims();
        GradCheck check = GradCheck.of(name + " " + java.util.Arrays.toString(sa) + " " + java.util.Arrays.toString(sb),
                        x -> op.apply(x[0], x[1]))
                .input(sa);
        int nb = Math.toIntExact(Shape.of(sb).numel());
        (positiveB ? check.input(GradCheck.uniform(5, nb, 0.5, 2), sb) : check.input(sb))
                .reference(x -> {
                    double[] a = broadcast(x[0], sa, so);
                    double[] b = broadcast(x[1], sb, so);
                    double[] o = new double[a.length];
                    for (int i = 0; i < o.length; i++) {
                        o[i] = f.applyAsDouble(a[i], b[i]);
                    }
                    return o;
                })
                .run();
    }

    @Test
    void binaryOpsWithBroadcasting() {
        int[][][] cases = {{{2, 3, 4}, {3, 1}}, {{4}, {2, 3, 4}}, {{1, 3, 1}, {2, 1, 4}}, {{2, 3}, {2, 3}}};
        for (int[][] c : cases) {
            binary("add", Double::sum, Elementwise::add, c[0], c[1], false);
            binary("sub", (a, b) -> a - b, Elementwise::sub, c[0], c[1], false);
            binary("mul", (a, b) -> a * b, Elementwise::mul, c[0], c[1], false);
            binary("div", (a, b) -> a / b, Elementwise::div, c[0], c[1], true);
        }
    }

    @Test
    void sameTensorOnBothSidesAccumulates() {
        GradCheck.of("mul(x, x)", x -> Elementwise.mul(x[0], x[0])).input(2, 5).reference(x -> GradCheck.map(x[0], v -> v * v)).run();
    }

    @Test
    void unaryOps() {
        GradCheck.of("exp", x -> Elementwise.exp(x[0])).input(3, 4).reference(x -> GradCheck.map(x[0], Math::exp)).run();
        GradCheck.of("log", x -> Elementwise.log(x[0])).input(GradCheck.uniform(3, 12, 0.3, 3), 3, 4)
                .reference(x -> GradCheck.map(x[0], Math::log)).run();
        GradCheck.of("sqrt", x -> Elementwise.sqrt(x[0])).input(GradCheck.uniform(4, 12, 0.3, 3), 12)
                .reference(x -> GradCheck.map(x[0], Math::sqrt)).run();
        GradCheck.of("scale", x -> Elementwise.scale(x[0], -1.5f)).input(2, 3).reference(x -> GradCheck.map(x[0], v -> -1.5 * v)).run();
        GradCheck.of("addScalar", x -> Elementwise.addScalar(x[0], 0.25f)).input(2, 3).reference(x -> GradCheck.map(x[0], v -> v + 0.25)).run();
    }

    @Test
    void isPositiveIsTheStepAndRecordsNoGradient() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[]{-1f, -0f, 0f, Float.MIN_VALUE, 2f, Float.NaN, Float.POSITIVE_INFINITY}, 7)
                    .requiresGrad(true);
            Tensor step = Elementwise.isPositive(x);
            assertArrayEquals(new float[]{0, 0, 0, 1, 1, 0, 1}, step.toFloatArray());
            assertFalse(step.requiresGrad());
        }
    }

    @Test
    void sumAndMeanOfEverything() {
        GradCheck.of("sum", x -> Reductions.sum(x[0])).input(3, 5).reference(x -> new double[]{java.util.Arrays.stream(x[0]).sum()}).run();
        GradCheck.of("mean", x -> Reductions.mean(x[0])).input(3, 5).reference(x -> new double[]{java.util.Arrays.stream(x[0]).average().orElseThrow()}).run();
    }

    @Test
    void dotProductsAlongEitherDimensionOfAMatrix() {
        for (int dim : new int[]{0, 1, -1}) {
            int d = Math.floorMod(dim, 2);
            GradCheck.of("dot over " + dim, x -> Reductions.dot(x[0], x[1], dim)).input(3, 4).input(3, 4)
                    .reference(x -> {
                        double[] out = new double[d == 1 ? 3 : 4];
                        for (int i = 0; i < 12; i++) {
                            out[d == 1 ? i / 4 : i % 4] += x[0][i] * x[1][i];
                        }
                        return out;
                    }).run();
        }
    }

    @Test
    void dotReadsViewsAndSumsInDouble() {
        try (var s = TensorScope.open()) {
            // x transposed in place: rows (1, 3) and (2, 4); y's rows 1e8 apart, whose float32 sum would drop the 1
            Tensor x = Tensor.of(new float[]{1f, 2f, 3f, 4f}, 2, 2).transpose(0, 1);
            Tensor y = Tensor.of(new float[]{1e8f, 1f, -1e8f, 1f}, 2, 2);
            assertArrayEquals(new float[]{1e8f + 3f, -2e8f + 4f}, Reductions.dot(x, y, 1).toFloatArray(), 0f);
            Tensor big = Tensor.of(new float[]{1e8f, 1f, 1f, -1e8f}, 4, 1);
            Tensor ones = Tensor.of(new float[]{1f, 1f, 1f, 1f}, 4, 1);
            assertArrayEquals(new float[]{2f}, Reductions.dot(big, ones, 0).toFloatArray(), 0f);
            assertThrows(IllegalArgumentException.class, () -> Reductions.dot(x, Tensor.zeros(2, 3), 1));
        }
    }

    /** Sum over dimension d of a (2, 3, 4) tensor in double. */
    private static double[] sumDim(double[] x, int d, boolean mean) {
        int[] dims = {2, 3, 4};
        int[] outDims = dims.clone();
        outDims[d] = 1;
        double[] out = new double[24 / dims[d]];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    int[] o = {i, j, k};
                    o[d] = 0;
                    out[(o[0] * outDims[1] + o[1]) * outDims[2] + o[2]] += x[(i * 3 + j) * 4 + k] / (mean ? dims[d] : 1);
                }
            }
        }
        return out;
    }

    @Test
    void sumAndMeanOverOneDimension() {
        for (int d = 0; d < 3; d++) {
            int dim = d;
            GradCheck.of("sum dim " + d + " keepDim", x -> Reductions.sum(x[0], dim, true)).input(2, 3, 4).reference(x -> sumDim(x[0], dim, false)).run();
            GradCheck.of("sum dim " + d, x -> Reductions.sum(x[0], dim, false)).input(2, 3, 4).reference(x -> sumDim(x[0], dim, false)).run();
            GradCheck.of("mean dim " + (d - 3), x -> Reductions.mean(x[0], dim - 3, false)).input(2, 3, 4).reference(x -> sumDim(x[0], dim, true)).run();
        }
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            assertArrayEquals(new int[]{2, 1}, Reductions.sum(t, 1, true).shape().dims());
            assertArrayEquals(new int[]{3}, Reductions.sum(t, 0, false).shape().dims());
            assertArrayEquals(new float[]{5, 7, 9}, Reductions.sum(t, 0, false).toFloatArray());
        }
    }

    @Test
    void sumToReversesBroadcasting() {
        try (var s = TensorScope.open()) {
            Tensor g = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            assertArrayEquals(new float[]{6, 15}, Reductions.sumTo(g, Shape.of(2, 1)).toFloatArray());
            assertArrayEquals(new float[]{5, 7, 9}, Reductions.sumTo(g, Shape.of(3)).toFloatArray());
            assertArrayEquals(new float[]{21}, Reductions.sumTo(g, Shape.of(1, 1)).toFloatArray());
        }
    }

    @Test
    void incompatibleShapesAreRefused() {
        try (var s = TensorScope.open()) {
            assertThrows(IllegalArgumentException.class, () -> Elementwise.add(Tensor.zeros(2, 3), Tensor.zeros(4)));
        }
    }
}
