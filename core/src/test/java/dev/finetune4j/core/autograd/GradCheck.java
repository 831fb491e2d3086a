package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks an op's hand-written backward against finite differences, on seeded random inputs.
 *
 * <p>The scalar checked is {@code f = sum(out * r)} for a fixed random {@code r}, accumulated in double, so that
 * every output element and its gradient take part. Two numeric gradients are compared with the analytic one:
 * <ul>
 *   <li>central differences of the float32 op itself, step {@value #STEP} (a power of two, so that x +- h is
 *       exact for the inputs used; the actual step is still read back), tolerance {@value #ATOL32} +
 *       {@value #RTOL32} |numeric|, limited by float32 rounding of f divided by 2h;</li>
 *   <li>when a reference is given (a naive double-precision forward written in the test): its forward values
 *       are compared with the op's output, and central differences of the reference in float64 (step
 *       {@value #STEP64}) are compared with the analytic gradient to {@value #TOL64} (abs + rel), a float64-grade
 *       check limited only by the float32 arithmetic of the op's backward.</li>
 * </ul>
 * Failures name the input, the flat index, both values and the largest difference.
 */
public final class GradCheck {
    /** The op under test, applied to leaf tensors that require gradients. */
    @FunctionalInterface
    public interface Forward {
        Tensor apply(Tensor[] inputs);
    }

    /** The same function in double precision over flat row-major inputs, returning the flat output. */
    @FunctionalInterface
    public interface Reference {
        double[] apply(double[][] inputs);
    }

    static final float STEP = 1f / 256;
    static final double ATOL32 = 2e-3;
    static final double RTOL32 = 1e-2;
    static final double STEP64 = 1e-6;
    static final double TOL64 = 2e-4;

    private final String name;
    private final Forward forward;
    private final List<float[]> values = new ArrayList<>();
    private final List<int[]> shapes = new ArrayList<>();
    private Reference reference;
    private double forwardTolerance = 1e-5;
    private long seed = 17;

    private GradCheck(String name, Forward forward) {
        this.name = name;
        this.forward = forward;
    }

    public static GradCheck of(String name, Forward forward) {
        return new GradCheck(name, forward);
    }

    /** An input of standard-normal values drawn from this check's seed. */
    public GradCheck input(int... dims) {
        int n = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        return input(randn(seed + 31L * values.size(), n), dims);
    }

    /** An input with the given values. */
    public GradCheck input(float[] v, int... dims) {
        values.add(v.clone());
        shapes.add(dims.clone());
        return this;
    }

    public GradCheck reference(Reference r) {
        this.reference = r;
        return this;
    }

    /** Absolute + relative tolerance of the forward comparison with the reference (default 1e-5). */
    public GradCheck forwardTolerance(double tol) {
        this.forwardTolerance = tol;
        return this;
    }

    public GradCheck seed(long s) {
        this.seed = s;
        return this;
    }

    /** Runs the checks; fails with the largest difference and where it is. */
    public void run() {
        try (var scope = TensorScope.open()) {
            Tensor[] leaves = leaves(values, true);
            Tensor out = forward.apply(leaves);
            float[] outValues = out.toFloatArray();
            double[] r = new double[outValues.length];
            Random rnd = new Random(seed ^ 0x5DEECE66DL);
            float[] rf = new float[r.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = rf[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            if (reference != null) {
                compare("forward vs float64 reference", toDoubles(outValues), reference.apply(doubles(values)),
                        forwardTolerance, forwardTolerance);
            }
            Autograd.backward(out, Tensor.of(rf, out.shape().dims()));
            for (int in = 0; in < values.size(); in++) {
                Tensor g = leaves[in].grad();
                double[] analytic = g == null ? new double[values.get(in).length] : toDoubles(g.toFloatArray());
                compare("input " + in + " gradient vs float32 central differences (h=" + STEP + ")",
                        analytic, numericFloat32(in, r), ATOL32, RTOL32);
                if (reference != null) {
                    compare("input " + in + " gradient vs float64 central differences of the reference (h=" + STEP64 + ")",
                            analytic, numericFloat64(in, r), TOL64, TOL64);
                }
            }
        }
    }

    private double[] numericFloat32(int in, double[] r) {
        float[] x = values.get(in).clone();
        double[] g = new double[x.length];
        List<float[]> probe = new ArrayList<>(values);
        probe.set(in, x);
        for (int j = 0; j < x.length; j++) {
            float orig = x[j];
            x[j] = orig + STEP;
            double up = x[j] - (double) orig;
            double fPlus = evaluate(probe, r);
            x[j] = orig - STEP;
            double down = orig - (double) x[j];
            double fMinus = evaluate(probe, r);
            x[j] = orig;
            g[j] = (fPlus - fMinus) / (up + down);
        }
        return g;
    }

    private double[] numericFloat64(int in, double[] r) {
        double[][] x = doubles(values);
        double[] g = new double[x[in].length];
        for (int j = 0; j < g.length; j++) {
            double orig = x[in][j];
            x[in][j] = orig + STEP64;
            double fPlus = dot(reference.apply(x), r);
            x[in][j] = orig - STEP64;
            double fMinus = dot(reference.apply(x), r);
            x[in][j] = orig;
            g[j] = (fPlus - fMinus) / (2 * STEP64);
        }
        return g;
    }

    private double evaluate(List<float[]> inputs, double[] r) {
        try (var s = TensorScope.open(); var ng = Autograd.noGrad()) {
            return dot(toDoubles(forward.apply(leaves(inputs, false)).toFloatArray()), r);
        }
    }

    private Tensor[] leaves(List<float[]> inputs, boolean requiresGrad) {
        Tensor[] t = new Tensor[inputs.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = Tensor.of(inputs.get(i), shapes.get(i)).requiresGrad(requiresGrad);
        }
        return t;
    }

    private void compare(String what, double[] actual, double[] expected, double atol, double rtol) {
        if (actual.length != expected.length) {
            fail(name + ": " + what + ": " + actual.length + " values, expected " + expected.length);
        }
        int worst = -1;
        double worstRatio = 0;
        double maxDiff = 0;
        for (int i = 0; i < actual.length; i++) {
            double diff = Math.abs(actual[i] - expected[i]);
            double ratio = diff / (atol + rtol * Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff);
            if (!(ratio <= worstRatio)) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worst >= 0 && !(worstRatio <= 1)) {
            fail(String.format("%s: %s: largest difference %.3g; at flat index %d: got %.7g, expected %.7g (tolerance %.2g + %.2g*|expected|)",
                    name, what, maxDiff, worst, actual[worst], expected[worst], atol, rtol));
        }
    }

    /** Standard-normal float32 values from a seed. */
    public static float[] randn(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** Values in [lo, hi) from a seed. */
    public static float[] uniform(long seed, int n, double lo, double hi) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    /** {@code f} applied to each value: an element-wise reference for {@link #reference}. */
    public static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] o = new double[x.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = f.applyAsDouble(x[i]);
        }
        return o;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static double[][] doubles(List<float[]> v) {
        return v.stream().map(GradCheck::toDoubles).toArray(double[][]::new);
    }
}
