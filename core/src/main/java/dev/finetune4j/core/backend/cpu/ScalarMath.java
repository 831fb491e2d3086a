package dev.finetune4j.core.backend.cpu;

/** {@link MathKernels} with {@code Math.exp} in double: the oracle, and the kernels without the Vector API. */
final class ScalarMath implements MathKernels {

    @Override
    public float max(float[] a, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = off; i < off + n; i++) {
            max = Math.max(max, a[i]);
        }
        return max;
    }

    @Override
    public double expInPlace(float[] a, int off, int n, float shift) {
        double sum = 0;
        for (int i = off; i < off + n; i++) {
            float e = (float) Math.exp(a[i] - shift);
            a[i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public double sumExp(float[] a, int off, int n, float shift) {
        double sum = 0;
        for (int i = off; i < off + n; i++) {
            sum += (float) Math.exp(a[i] - shift);
        }
        return sum;
    }

    @Override
    public void sigmoid(float[] x, float[] out, int from, int to) {
        for (int i = from; i < to; i++) {
            out[i] = (float) (1 / (1 + Math.exp(-x[i])));
        }
    }
}
