package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** RMSNorm and LayerNorm over the last dimension, statistics in double as PyTorch's float32 kernels. */
public final class Norms {
    private Norms() {
    }

    /**
     * RMSNorm (Zhang and Sennrich 2019) as Hugging Face's LlamaRMSNorm: y = x / sqrt(mean(x^2) + eps) * w.
     * x: (..., C), w: (C) -> (..., C). Each row's 1 / sqrt(mean(x^2) + eps) is kept for the backward.
     *
     * @param x the input, (..., C)
     * @param w the weight, (C)
     * @param eps added to the mean square
     * @return the normalised input, (..., C)
     */
    public static Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        checkParameter("rmsNorm", "weight", x, w);
        Ops.sameDevice(x, w);
        Tensor xm = Ops.matrix(x);
        Tensor wv = Bf16Boundaries.operand(w);
        Tensor y = Tensor.empty(TensorScope.current(), x.device(), Bf16Boundaries.activationDType(), x.shape());
        Tensor rstd = Tensor.empty(x.device(), Shape.of(xm.dim(0)));
        x.backend().norms().rmsNorm(xm, wv, eps, y, rstd);
        return Autograd.record("rmsNorm", y, (dOut, into) -> {
            // added into the residual stream's gradient so far when the backward pass offers it
            Tensor acc = GradNode.Accumulating.of(into, 0);
            Tensor dx = acc != null ? acc : Tensor.empty(x.device(), x.shape());
            // a frozen weight (adapter training) gets no gradient: skips a (rows, C) pass
            Tensor dw = w.requiresGrad() ? Tensor.zeros(w.device(), w.shape()) : null;
            x.backend().norms().rmsNormBackward(Ops.matrix(dOut), xm, wv, rstd, dx, acc != null, dw);
            return new Tensor[]{dx, dw};
        }, x, w);
    }

    /**
     * LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b with the biased variance.
     * x: (..., C), w, b: (C) -> (..., C). Each row's mean and 1 / sqrt(var + eps) are kept for the backward.
     *
     * @param x the input, (..., C)
     * @param w the weight, (C)
     * @param b the bias, (C), or null for none (Cohere's)
     * @param eps added to the variance
     * @return the normalised input, (..., C)
     */
    public static Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        checkParameter("layerNorm", "weight", x, w);
        if (b != null) {
            checkParameter("layerNorm", "bias", x, b);
        }
        Ops.sameDevice(x, w, b);
        Tensor xm = Ops.matrix(x);
        Tensor y = Tensor.empty(x.device(), x.shape());
        Tensor mean = Tensor.empty(x.device(), Shape.of(xm.dim(0)));
        Tensor rstd = Tensor.empty(x.device(), Shape.of(xm.dim(0)));
        Tensor wv = Bf16Boundaries.operand(w);
        x.backend().norms().layerNorm(xm, wv, Bf16Boundaries.operand(b), eps, y, mean, rstd);
        return Autograd.record("layerNorm", Bf16Boundaries.output(y), (dOut, into) -> {
            Tensor acc = GradNode.Accumulating.of(into, 0);
            Tensor dx = acc != null ? acc : Tensor.empty(x.device(), x.shape());
            Tensor dw = w.requiresGrad() ? Tensor.zeros(w.device(), w.shape()) : null;
            Tensor db = b != null && b.requiresGrad() ? Tensor.zeros(b.device(), b.shape()) : null;
            x.backend().norms().layerNormBackward(Ops.matrix(dOut), xm, wv, mean, rstd, dx, acc != null, dw, db);
            return new Tensor[]{dx, dw, db};
        }, x, w, b);
    }

    private static void checkParameter(String op, String role, Tensor x, Tensor p) {
        if (p.numel() != x.dim(-1)) {
            throw new IllegalArgumentException(op + ": " + role + " " + p.shape() + " does not fit input " + x.shape()
                    + " (expected " + x.dim(-1) + " values, one per feature of the last dimension)");
        }
    }
}
