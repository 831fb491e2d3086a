package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Xielu;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * xIELU with its layer's learned scalars ({@link Xielu}), named as transformers' {@code XIELUActivation}:
 * {@code alpha_p} and {@code alpha_n}, shape (1), raw (read through a softplus). Ordinary parameters: frozen with
 * the base weights under an adapter, trained in a full fine-tuning. transformers' {@code beta} and {@code eps} are
 * buffers of fixed value, not parameters: the checkpoint's copies are checked as the weights load.
 */
public final class XieluActivation extends Module implements Layer {
    /** transformers' initial ap and an (its {@code alpha_p_init}, {@code alpha_n_init}). */
    private static final double INITIAL_ALPHA = 0.8;

    /**
     * xIELU at transformers' initial scalars (ap = an = 0.8) until loaded.
     *
     * @param scope owns the scalars' memory
     */
    public XieluActivation(TensorScope scope) {
        Tensor p = registerParameter("alpha_p", Tensor.zeros(scope, DType.F32, Shape.of(1)));
        Tensor n = registerParameter("alpha_n", Tensor.zeros(scope, DType.F32, Shape.of(1)));
        p.backend().copy().fill(p, (float) inverseSoftplus(INITIAL_ALPHA));
        n.backend().copy().fill(n, (float) inverseSoftplus(INITIAL_ALPHA - Xielu.BETA));
    }

    private static double inverseSoftplus(double y) {
        return Math.log(Math.expm1(y));
    }

    /** x: any shape -> x's shape. */
    @Override
    public Tensor forward(Tensor x) {
        return Xielu.apply(x, parameter("alpha_p"), parameter("alpha_n"));
    }
}
