package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;

/** Concatenation along one dimension; backward slices the gradient back into the parts. */
public final class Concat {
    private Concat() {
    }

    /** Parts with equal shapes except along {@code dim} -> one tensor. */
    public static Tensor cat(int dim, Tensor... parts) {
        int d = parts[0].shape().normalize(dim);
        int[] dims = parts[0].shape().dims();
        int total = 0;
        for (Tensor p : parts) {
            int[] pd = p.shape().dims();
            pd[d] = dims[d];
            if (!Arrays.equals(pd, dims)) {
                throw new IllegalArgumentException("cat along " + d + ": shapes " + parts[0].shape() + " and " + p.shape() + " differ elsewhere");
            }
            total += p.dim(d);
        }
        int outer = 1;
        for (int i = 0; i < d; i++) {
            outer *= dims[i];
        }
        int inner = 1;
        for (int i = d + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        dims[d] = total;
        float[] out = new float[outer * total * inner];
        int at = 0;
        int[] starts = new int[parts.length];
        for (int k = 0; k < parts.length; k++) {
            starts[k] = at;
            float[] v = Buffers.read(parts[k]);
            int len = parts[k].dim(d) * inner;
            for (int o = 0; o < outer; o++) {
                System.arraycopy(v, o * len, out, (o * total + at) * inner, len);
            }
            at += parts[k].dim(d);
        }
        Tensor result = Buffers.tensor(out, dims);
        return Autograd.record("cat", result, dOut -> {
            Tensor[] grads = new Tensor[parts.length];
            for (int k = 0; k < parts.length; k++) {
                if (parts[k].requiresGrad()) {
                    grads[k] = dOut.slice(d, starts[k], starts[k] + parts[k].dim(d)).contiguous();
                }
            }
            return grads;
        }, parts);
    }
}
