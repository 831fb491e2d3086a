package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * y = x W^T + b with {@code weight} (out, in) as PyTorch's nn.Linear stores it, or y = x W + b with weight
 * (in, out) when {@code fanInFanOut} (GPT-2's Conv1D layout).
 */
public class Linear extends Module implements Layer {
    private final int inFeatures;
    private final int outFeatures;
    private final boolean fanInFanOut;
    private final boolean hasBias;

    /**
     * A layer whose parameters are zero until loaded or initialised.
     *
     * @param scope owns the parameters' memory
     * @param inFeatures size of each input's last dimension
     * @param outFeatures size of each output's last dimension
     * @param bias whether the layer has a bias
     * @param fanInFanOut whether the weight is stored (in, out) instead of (out, in)
     */
    public Linear(TensorScope scope, int inFeatures, int outFeatures, boolean bias, boolean fanInFanOut) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.fanInFanOut = fanInFanOut;
        this.hasBias = bias;
        Shape ws = fanInFanOut ? Shape.of(inFeatures, outFeatures) : Shape.of(outFeatures, inFeatures);
        registerParameter("weight", Tensor.zeros(scope, DType.F32, ws));
        if (bias) {
            registerParameter("bias", Tensor.zeros(scope, DType.F32, Shape.of(outFeatures)));
        }
    }

    /**
     * A layer with the weight stored (out, in), zero until loaded or initialised.
     *
     * @param scope owns the parameters' memory
     * @param inFeatures size of each input's last dimension
     * @param outFeatures size of each output's last dimension
     * @param bias whether the layer has a bias
     */
    public Linear(TensorScope scope, int inFeatures, int outFeatures, boolean bias) {
        this(scope, inFeatures, outFeatures, bias, false);
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor b = hasBias() ? parameter("bias") : null;
        if (fanInFanOut) {
            Tensor y = Matmul.matmul(x, parameter("weight"));
            return b == null ? y : Elementwise.add(y, b);
        }
        return Matmul.linear(x, parameter("weight"), b);
    }

    /**
     * Whether the layer adds a bias.
     *
     * @return true when it has a {@code bias} parameter
     */
    public boolean hasBias() {
        return hasBias;
    }

    /**
     * The input size.
     *
     * @return the size of each input's last dimension
     */
    public int inFeatures() {
        return inFeatures;
    }

    /**
     * The output size.
     *
     * @return the size of each output's last dimension
     */
    public int outFeatures() {
        return outFeatures;
    }

    /**
     * True when the weight is stored (in, out) as GPT-2's Conv1D does.
     *
     * @return whether the weight is (in, out)
     */
    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /**
     * The weight.
     *
     * @return the weight, (out, in), or (in, out) when {@link #fanInFanOut()}
     */
    public Tensor weight() {
        return parameter("weight");
    }
}
