package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * xIELU (Huang et al. 2024, "Deriving Activation Functions Using Integration", arXiv:2411.13010), Apertus's MLP
 * activation, as transformers' {@code XIELUActivation} computes it: two learned scalars kept raw and read through a
 * softplus, {@code ap = softplus(alpha_p)} and {@code an = beta + softplus(alpha_n)}, then
 * <pre>
 *   y = ap x^2 + beta x                          (x &gt; 0)
 *   y = (expm1(min(x, eps)) - x) an + beta x     (x &lt;= 0)
 * </pre>
 * The op and its scalar math (double, for the CPU kernels); the backends' kernels compute the same.
 */
public final class Xielu {
    /** The linear term's factor: fixed (a buffer, not a parameter, in transformers). */
    public static final float BETA = 0.5f;
    /** The bound below which the negative branch reads its exponential: fixed as {@link #BETA}. */
    public static final float EPS = -1e-6f;
    /** Where PyTorch's softplus returns its argument unchanged. */
    private static final double SOFTPLUS_THRESHOLD = 20;

    private Xielu() {
    }

    /**
     * xIELU of {@code x} with the raw scalars of its layer. x: any shape -> x's shape; alphaP, alphaN: (1).
     * The backward gives {@code x} its gradient and each scalar that requires one the sum over every element.
     *
     * @param x the input, any shape
     * @param alphaP the raw positive-branch scalar ({@code act_fn.alpha_p}), one element
     * @param alphaN the raw negative-branch scalar ({@code act_fn.alpha_n}), one element
     * @return xIELU(x), same shape as {@code x}
     */
    public static Tensor apply(Tensor x, Tensor alphaP, Tensor alphaN) {
        if (alphaP.numel() != 1 || alphaN.numel() != 1) {
            throw new IllegalArgumentException("xielu: alpha_p " + alphaP.shape() + " and alpha_n " + alphaN.shape()
                    + " must each hold one value (transformers saves them with shape (1))");
        }
        Ops.sameDevice(x, alphaP);
        Ops.sameDevice(x, alphaN);
        Tensor out = Tensor.empty(TensorScope.current(), x.device(), Bf16Boundaries.activationDType(), x.shape());
        x.backend().activations().xielu(x, alphaP, alphaN, BETA, EPS, out);
        Tensor xd = x.detach();
        Tensor ap = alphaP.detach();
        Tensor an = alphaN.detach();
        DType gradients = Bf16Boundaries.activationDType();
        return Autograd.record("xielu", out, dOut -> {
            Tensor dx = x.requiresGrad()
                    ? Tensor.empty(TensorScope.current(), dOut.device(), gradients, x.shape()) : null;
            Tensor dAlphaP = alphaP.requiresGrad() ? Tensor.empty(dOut.device(), Shape.of(1)) : null;
            Tensor dAlphaN = alphaN.requiresGrad() ? Tensor.empty(dOut.device(), Shape.of(1)) : null;
            // dx is written even where x needs none: the kernel reads and writes every element in one pass
            Tensor into = dx != null ? dx : Tensor.empty(TensorScope.current(), dOut.device(), gradients, x.shape());
            dOut.backend().activations().xieluBackward(xd, ap, an, BETA, EPS, dOut, into, dAlphaP, dAlphaN);
            return new Tensor[]{dx, reshaped(dAlphaP, alphaP), reshaped(dAlphaN, alphaN)};
        }, x, alphaP, alphaN);
    }

    /** A scalar's gradient in its parameter's shape ((1), or () as a checkpoint may hold it). */
    private static Tensor reshaped(Tensor gradient, Tensor parameter) {
        return gradient == null ? null : gradient.reshape(parameter.shape().dims());
    }

    /**
     * PyTorch's softplus: {@code log(1 + e^r)}, {@code r} itself above 20.
     *
     * @param r the raw value
     * @return softplus(r)
     */
    public static double softplus(double r) {
        return r > SOFTPLUS_THRESHOLD ? r : Math.log1p(Math.exp(r));
    }

    /**
     * softplus'(r): the sigmoid, 1 above the threshold where softplus is the identity.
     *
     * @param r the raw value
     * @return d softplus / d r
     */
    public static double softplusDerivative(double r) {
        return r > SOFTPLUS_THRESHOLD ? 1 : 1 / (1 + Math.exp(-r));
    }

    /**
     * y(x) in double.
     *
     * @param x the argument
     * @param ap softplus(alpha_p)
     * @param an beta + softplus(alpha_n)
     * @param beta the linear factor
     * @param eps the negative branch's bound
     * @return xIELU(x)
     */
    public static double value(double x, double ap, double an, double beta, double eps) {
        return x > 0 ? ap * x * x + beta * x : (Math.expm1(Math.min(x, eps)) - x) * an + beta * x;
    }

    /**
     * dy/dx in double; {@code min(x, eps)} passes its gradient below eps and half of it at eps, as PyTorch's.
     *
     * @param x the argument
     * @param ap softplus(alpha_p)
     * @param an beta + softplus(alpha_n)
     * @param beta the linear factor
     * @param eps the negative branch's bound
     * @return y'(x)
     */
    public static double derivative(double x, double ap, double an, double beta, double eps) {
        if (x > 0) {
            return 2 * ap * x + beta;
        }
        double throughMin = x < eps ? Math.exp(x) : x == eps ? 0.5 * Math.exp(x) : 0;
        return (throughMin - 1) * an + beta;
    }

    /**
     * dy/d(an) on the negative branch ({@code expm1(min(x, eps)) - x}), dy/d(ap) on the positive one ({@code x^2}).
     *
     * @param x the argument
     * @param eps the negative branch's bound
     * @return the factor of the branch's learned scalar in y
     */
    public static double scalarFactor(double x, double eps) {
        return x > 0 ? x * x : Math.expm1(Math.min(x, eps)) - x;
    }
}
