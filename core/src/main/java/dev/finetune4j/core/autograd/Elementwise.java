package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

import java.util.function.DoubleUnaryOperator;

/**
 * Elementwise arithmetic with NumPy broadcasting (shapes aligned from the right, size-1 dimensions stretch).
 * Backward of a broadcast input sums the gradient over the stretched dimensions ({@link Reductions#sumTo}).
 */
public final class Elementwise {
    private Elementwise() {
    }

    private enum Op { ADD, SUB, MUL, DIV }

    /** a + b, broadcasting. */
    public static Tensor add(Tensor a, Tensor b) {
        return binary(Op.ADD, a, b);
    }

    /** a - b, broadcasting. */
    public static Tensor sub(Tensor a, Tensor b) {
        return binary(Op.SUB, a, b);
    }

    /** a * b, broadcasting. */
    public static Tensor mul(Tensor a, Tensor b) {
        return binary(Op.MUL, a, b);
    }

    /** a / b, broadcasting. */
    public static Tensor div(Tensor a, Tensor b) {
        return binary(Op.DIV, a, b);
    }

    /** x * s for a constant s. */
    public static Tensor scale(Tensor x, float s) {
        float[] v = Buffers.floats(x);
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return Autograd.record("scale", Buffers.tensor(v, x.shape()), d -> new Tensor[]{scale(d, s)}, x);
    }

    /** x + s for a constant s. */
    public static Tensor addScalar(Tensor x, float s) {
        float[] v = Buffers.floats(x);
        for (int i = 0; i < v.length; i++) {
            v[i] += s;
        }
        return Autograd.record("addScalar", Buffers.tensor(v, x.shape()), d -> new Tensor[]{d}, x);
    }

    /** e^x. */
    public static Tensor exp(Tensor x) {
        Tensor out = map(x, Math::exp);
        return Autograd.record("exp", out, d -> new Tensor[]{mul(d, out.detach())}, x);
    }

    /** Natural logarithm. */
    public static Tensor log(Tensor x) {
        Tensor out = map(x, Math::log);
        return Autograd.record("log", out, d -> new Tensor[]{div(d, x.detach())}, x);
    }

    /** Square root. */
    public static Tensor sqrt(Tensor x) {
        Tensor out = map(x, Math::sqrt);
        return Autograd.record("sqrt", out, d -> new Tensor[]{div(scale(d, 0.5f), out.detach())}, x);
    }

    /** Applies a function without recording a gradient (a helper for ops that define their own backward). */
    static Tensor map(Tensor x, DoubleUnaryOperator f) {
        float[] v = Buffers.floats(x);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) f.applyAsDouble(v[i]);
        }
        return Buffers.tensor(v, x.shape());
    }

    private static Tensor binary(Op op, Tensor a, Tensor b) {
        Shape shape = broadcastShape(a.shape(), b.shape());
        float[] x = Buffers.read(a);
        float[] y = Buffers.read(b);
        int n = Math.toIntExact(shape.numel());
        int[] ia = Broadcast.indexMap(a.shape(), shape);
        int[] ib = Broadcast.indexMap(b.shape(), shape);
        float[] out = new float[n];
        if (ia == null && ib == null) {
            Parallel.chunks(n, (from, to) -> sameShape(op, x, y, out, from, to));
        } else {
            broadcast(op, x, ia, y, ib, out);
        }
        Tensor result = Buffers.tensor(out, shape);
        Tensor ad = a.detach();
        Tensor bd = b.detach();
        return Autograd.record(op.name().toLowerCase(), result, d -> switch (op) {
            case ADD -> new Tensor[]{Reductions.sumTo(d, a.shape()), Reductions.sumTo(d, b.shape())};
            case SUB -> new Tensor[]{Reductions.sumTo(d, a.shape()), Reductions.sumTo(scale(d, -1f), b.shape())};
            case MUL -> new Tensor[]{
                    a.requiresGrad() ? Reductions.sumTo(mul(d, bd), a.shape()) : null,
                    b.requiresGrad() ? Reductions.sumTo(mul(d, ad), b.shape()) : null};
            case DIV -> new Tensor[]{
                    a.requiresGrad() ? Reductions.sumTo(div(d, bd), a.shape()) : null,
                    b.requiresGrad() ? Reductions.sumTo(scale(div(mul(d, result.detach()), bd), -1f), b.shape()) : null};
        }, a, b);
    }

    /** One loop per op, so that the JIT vectorizes each. */
    private static void sameShape(Op op, float[] x, float[] y, float[] out, int from, int to) {
        switch (op) {
            case ADD -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] + y[i];
                }
            }
            case SUB -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] - y[i];
                }
            }
            case MUL -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] * y[i];
                }
            }
            case DIV -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] / y[i];
                }
            }
        }
    }

    /** Element i reads x[ia[i]] and y[ib[i]] (a null map reads element i itself). */
    private static void broadcast(Op op, float[] x, int[] ia, float[] y, int[] ib, float[] out) {
        for (int i = 0; i < out.length; i++) {
            float u = x[ia == null ? i : ia[i]];
            float w = y[ib == null ? i : ib[i]];
            out[i] = switch (op) {
                case ADD -> u + w;
                case SUB -> u - w;
                case MUL -> u * w;
                case DIV -> u / w;
            };
        }
    }

    /** The broadcast of two shapes, or an exception naming both. */
    public static Shape broadcastShape(Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.rank() ? 1 : a.dim(i - (rank - a.rank()));
            int db = i < rank - b.rank() ? 1 : b.dim(i - (rank - b.rank()));
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + a + " and " + b + " do not broadcast (dimension " + i + ")");
            }
            dims[i] = Math.max(da, db);
        }
        return Shape.of(dims);
    }
}
