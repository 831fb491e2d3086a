package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

/**
 * {@link BaseLinear} over a core {@link Linear}, hiding its layout: (out, in), or (in, out) for GPT-2's Conv1D.
 *
 * @param linear the wrapped layer
 */
record DenseLinear(Linear linear) implements BaseLinear {

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
    public void setWeightOutIn(float[] weight) {
        float[] stored = linear.fanInFanOut() ? transpose(weight, outFeatures(), inFeatures()) : weight;
        linear.weight().copyFrom(stored);
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
