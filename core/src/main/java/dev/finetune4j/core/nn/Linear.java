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

    public boolean hasBias() {
        return hasBias;
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    /** True when the weight is stored (in, out) as GPT-2's Conv1D does. */
    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    public Tensor weight() {
        return parameter("weight");
    }
}
