package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.ElementwiseKernels.BinaryOp;
import dev.finetune4j.core.backend.ElementwiseKernels.UnaryOp;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Elementwise arithmetic with NumPy broadcasting (shapes aligned from the right, size-1 dimensions stretch).
 * Backward of a broadcast input sums the gradient over the stretched dimensions ({@link Reductions#sumTo}).
 */
public final class Elementwise {
    private Elementwise() {
    }

    /**
     * a + b, broadcasting.
     *
     * @param a the first operand
     * @param b the second operand, broadcastable with {@code a}
     * @return the sum, of the broadcast shape
     */
    public static Tensor add(Tensor a, Tensor b) {
        return binary(BinaryOp.ADD, a, b);
    }

    /**
     * a - b, broadcasting.
     *
     * @param a the first operand
     * @param b the second operand, broadcastable with {@code a}
     * @return the difference, of the broadcast shape
     */
    public static Tensor sub(Tensor a, Tensor b) {
        return binary(BinaryOp.SUB, a, b);
    }

    /**
     * a * b, broadcasting.
     *
     * @param a the first operand
     * @param b the second operand, broadcastable with {@code a}
     * @return the product, of the broadcast shape
     */
    public static Tensor mul(Tensor a, Tensor b) {
        return binary(BinaryOp.MUL, a, b);
    }

    /**
     * a / b, broadcasting.
     *
     * @param a the dividend
     * @param b the divisor, broadcastable with {@code a}
     * @return the quotient, of the broadcast shape
     */
    public static Tensor div(Tensor a, Tensor b) {
        return binary(BinaryOp.DIV, a, b);
    }

    /**
     * x * s for a constant s.
     *
     * @param x the tensor
     * @param s the factor
     * @return the scaled tensor, same shape
     */
    public static Tensor scale(Tensor x, float s) {
        Tensor out = Tensor.empty(x.device(), x.shape());
        x.backend().elementwise().affine(x, s, 0f, out);
        return Autograd.record("scale", out, d -> new Tensor[]{scale(d, s)}, x);
    }

    /**
     * x + s for a constant s.
     *
     * @param x the tensor
     * @param s the constant
     * @return the shifted tensor, same shape
     */
    public static Tensor addScalar(Tensor x, float s) {
        Tensor out = Tensor.empty(x.device(), x.shape());
        x.backend().elementwise().affine(x, 1f, s, out);
        return Autograd.record("addScalar", out, d -> new Tensor[]{d}, x);
    }

    /**
     * e^x.
     *
     * @param x the tensor
     * @return e^x elementwise, same shape
     */
    public static Tensor exp(Tensor x) {
        Tensor out = unary(UnaryOp.EXP, x);
        return Autograd.record("exp", out, d -> new Tensor[]{mul(d, out.detach())}, x);
    }

    /**
     * Natural logarithm.
     *
     * @param x the tensor
     * @return ln(x) elementwise, same shape
     */
    public static Tensor log(Tensor x) {
        Tensor out = unary(UnaryOp.LOG, x);
        return Autograd.record("log", out, d -> new Tensor[]{div(d, x.detach())}, x);
    }

    /**
     * Square root.
     *
     * @param x the tensor
     * @return sqrt(x) elementwise, same shape
     */
    public static Tensor sqrt(Tensor x) {
        Tensor out = unary(UnaryOp.SQRT, x);
        return Autograd.record("sqrt", out, d -> new Tensor[]{div(scale(d, 0.5f), out.detach())}, x);
    }

    /**
     * The step function: 1 where x > 0, else 0 (NaN gives 0). It records no gradient (its derivative is 0 almost
     * everywhere); use it for counts such as how many margins are positive.
     *
     * @param x the tensor
     * @return 1 or 0 elementwise, same shape, float32
     */
    public static Tensor isPositive(Tensor x) {
        return unary(UnaryOp.POSITIVE, x);
    }

    /** {@code acc += g} in place, {@code g} broadcast to {@code acc}'s shape (leaf gradients); no gradient is recorded. */
    static void addInPlace(Tensor acc, Tensor g) {
        acc.backend().elementwise().binary(BinaryOp.ADD, acc, g.detach().expand(acc.shape()), acc);
    }

    private static Tensor unary(UnaryOp op, Tensor x) {
        Tensor out = Tensor.empty(x.device(), x.shape());
        x.backend().elementwise().unary(op, x, out);
        return out;
    }

    private static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Ops.sameDevice(a, b);
        Shape shape = broadcastShape(a.shape(), b.shape());
        Tensor result = Tensor.empty(a.device(), shape);
        a.backend().elementwise().binary(op, a.detach().expand(shape), b.detach().expand(shape), result);
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

    /**
     * The broadcast of two shapes, or an exception naming both.
     *
     * @param a one shape
     * @param b the other shape
     * @return the shape both broadcast to
     */
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
