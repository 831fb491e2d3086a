package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;

/** Concatenation along one dimension; backward slices the gradient back into the parts. */
public final class Concat {
    private Concat() {
    }

    /**
     * Parts with equal shapes except along {@code dim} -> one tensor.
     *
     * @param dim the dimension to join along; negative counts from the end
     * @param parts the tensors, in order
     * @return the concatenation
     */
    public static Tensor cat(int dim, Tensor... parts) {
        int d = parts[0].shape().normalize(dim);
        int[] dims = parts[0].shape().dims();
        long total = 0;
        for (Tensor p : parts) {
            Ops.sameDevice(parts[0], p);
            int[] pd = p.shape().dims();
            pd[d] = dims[d];
            if (!Arrays.equals(pd, dims)) {
                throw new IllegalArgumentException("cat along " + d + ": shapes " + parts[0].shape() + " and " + p.shape() + " differ elsewhere");
            }
            total += p.dim(d);
        }
        dims[d] = Math.toIntExact(total);
        Tensor result = Tensor.zeros(parts[0].device(), Shape.of(dims));
        int[] starts = new int[parts.length];
        int at = 0;
        for (int k = 0; k < parts.length; k++) {
            starts[k] = at;
            Tensor slot = result.slice(d, at, at + parts[k].dim(d));
            result.backend().copy().copy(parts[k].detach(), slot);
            at += parts[k].dim(d);
        }
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
