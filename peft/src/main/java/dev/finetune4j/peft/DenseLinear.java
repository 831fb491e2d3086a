package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * {@link BaseLinear} over a core {@link Linear}, hiding its layout: (out, in), or (in, out) for GPT-2's Conv1D, and its
 * dtype: F32, BF16/F16 (possibly a read-only memory-mapped file) or NF4.
 *
 * <p>Setting the weight never writes into the stored one: it makes a new tensor in the weight's dtype (rounded to
 * bf16, or requantized to NF4) in the weight's scope, and keeps the tensor it replaced until {@link #restoreWeight()}
 * (for a memory-mapped base that costs no memory; for a float32 one, a second copy of the layer's weight).
 */
final class DenseLinear implements BaseLinear {
    private final Linear linear;
    private Tensor original; // the weight before the first setWeight, until restored

    DenseLinear(Linear linear) {
        this.linear = linear;
    }

    @Override
    public int inFeatures() {
        return linear.inFeatures();
    }

    @Override
    public int outFeatures() {
        return linear.outFeatures();
    }

    @Override
    public Tensor forward(Tensor x) {
        return linear.forward(x);
    }

    @Override
    public float[] weightOutIn() {
        float[] w = linear.weight().toFloatArray();
        return linear.fanInFanOut() ? transpose(w, inFeatures(), outFeatures()) : w;
    }

    @Override
    public Tensor weightTensor() {
        Tensor w = linear.weight().to(DType.F32);
        return linear.fanInFanOut() ? w.transpose(0, 1).contiguous() : w;
    }

    @Override
    public void setWeight(Tensor weight) {
        Tensor w = linear.weight();
        Tensor fresh = (linear.fanInFanOut() ? weight.transpose(0, 1) : weight).convertTo(w.dtype(), w.scope());
        if (original == null) {
            original = w;
        } else {
            release(w);
        }
        linear.setParameter("weight", fresh.requiresGrad(w.requiresGrad()));
    }

    @Override
    public boolean restoreWeight() {
        if (original == null) {
            return false;
        }
        Tensor replaced = linear.weight();
        linear.setParameter("weight", original);
        original = null;
        release(replaced);
        return true;
    }

    /** Frees a weight this class made (one it did not allocate, a mapped file's, is left alone). */
    private static void release(Tensor t) {
        if (t.scope().owns(t)) {
            t.scope().release(t);
        }
    }

    @Override
    public Tensor denseWeightOutIn() {
        return linear.fanInFanOut() ? null : linear.weight();
    }

    @Override
    public Tensor bias() {
        return linear.hasBias() ? linear.parameter("bias") : null;
    }

    /** (rows, cols) row-major -> (cols, rows) row-major. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }
}
