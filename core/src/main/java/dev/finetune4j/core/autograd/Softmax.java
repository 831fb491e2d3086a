package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;


/** Softmax and log-softmax over the last dimension, computed stably (max subtracted). */
public final class Softmax {
    private Softmax() {
    }

    /**
     * x: (..., V) -> (..., V) in float32 whatever x's dtype (a bf16 router's scores included, as transformers' MoE
     * routers take their softmax in float32); backward dx = y * (dy - sum(dy * y)).
     *
     * @param x the scores, (..., V)
     * @return the probabilities over the last dimension, (..., V)
     */
    public static Tensor softmax(Tensor x) {
        Tensor y = Tensor.empty(x.device(), x.shape());
        x.backend().softmax().softmax(x.dtype() == DType.F32 ? x.detach().contiguous() : x.detach().to(DType.F32), y);
        return Autograd.record("softmax", y, dOut -> {
            Tensor dx = Tensor.empty(x.device(), x.shape());
            x.backend().softmax().softmaxBackward(y, dOut, dx);
            return new Tensor[]{dx};
        }, x);
    }

    /**
     * x: (..., V) -> (..., V); backward dx = dy - softmax(x) * sum(dy).
     *
     * @param x the scores, (..., V)
     * @return the log-probabilities over the last dimension, (..., V)
     */
    public static Tensor logSoftmax(Tensor x) {
        Tensor y = Tensor.empty(x.device(), x.shape());
        x.backend().softmax().logSoftmax(x.detach().contiguous(), y);
        return Autograd.record("logSoftmax", y, dOut -> {
            Tensor dx = Tensor.empty(x.device(), x.shape());
            x.backend().softmax().logSoftmaxBackward(y, dOut, dx);
            return new Tensor[]{dx};
        }, x);
    }
}
