package dev.finetune4j.core.tensor;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;

import java.util.Arrays;

/** Shape-changing views and their gradients (each backward is the inverse view of its forward). */
final class Views {
    private Views() {
    }

    /** x: any shape -> dims (same element count; -1 infers one size). */
    static Tensor reshape(Tensor x, int... dims) {
        int[] resolved = resolve(dims, x.numel(), x.shape());
        Tensor src = x.isContiguous() ? x : contiguous(x);
        Shape s = Shape.of(resolved);
        Tensor out = src.view(s, s.contiguousStrides(), src.offset());
        int[] back = x.shape().dims();
        return Autograd.record("reshape", out, d -> new Tensor[]{reshape(d, back)}, src);
    }

    static Tensor transpose(Tensor x, int d0, int d1) {
        int a = x.shape().normalize(d0);
        int b = x.shape().normalize(d1);
        int[] order = new int[x.rank()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        order[a] = b;
        order[b] = a;
        return permute(x, order);
    }

    /** out dimension i is x dimension order[i] (negative counts from the end); backward permutes with the inverse order. */
    static Tensor permute(Tensor x, int... order) {
        if (order.length != x.rank()) {
            throw new IllegalArgumentException("permute order " + Arrays.toString(order) + " does not match rank of " + x.shape());
        }
        int[] dims = new int[order.length];
        long[] strides = new long[order.length];
        long[] xs = x.strides();
        int[] inverse = new int[order.length];
        Arrays.fill(inverse, -1);
        for (int i = 0; i < order.length; i++) {
            int from = x.shape().normalize(order[i]);
            if (inverse[from] >= 0) {
                // a repeated dimension would make a view that reads some elements twice and others never
                throw new IllegalArgumentException("permute order " + Arrays.toString(order) + " names dimension "
                        + from + " twice; give each dimension of " + x.shape() + " once");
            }
            dims[i] = x.dim(from);
            strides[i] = xs[from];
            inverse[from] = i;
        }
        Tensor out = x.view(Shape.of(dims), strides, x.offset());
        return Autograd.record("permute", out, d -> new Tensor[]{permute(d, inverse)}, x);
    }

    /** Elements [start, end) of dimension dim; backward copies dOut into zeros shaped like x. */
    static Tensor slice(Tensor x, int dim, int start, int end) {
        int d = x.shape().normalize(dim);
        if (start < 0 || end > x.dim(d) || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") of dimension " + d + " of " + x.shape());
        }
        long[] strides = x.strides();
        Tensor out = x.view(x.shape().with(d, end - start), strides, x.offset() + start * strides[d]);
        return Autograd.record("slice", out, dOut -> {
            Tensor g = Tensor.zeros(dOut.device(), x.shape());
            g.backend().copy().copy(dOut, g.view(dOut.shape(), g.strides(), start * g.strides()[d]));
            return new Tensor[]{g};
        }, x);
    }

    /** x broadcast to {@code target} (stride 0 where x has size 1 or no dimension); backward sums back to x's shape. */
    static Tensor expand(Tensor x, Shape target) {
        int offset = target.rank() - x.rank();
        if (offset < 0) {
            throw new IllegalArgumentException("cannot expand " + x.shape() + " to the lower rank " + target);
        }
        long[] xs = x.strides();
        long[] strides = new long[target.rank()];
        for (int i = 0; i < target.rank(); i++) {
            int xi = i - offset;
            if (xi >= 0 && x.dim(xi) == target.dim(i)) {
                strides[i] = xs[xi];
            } else if (xi < 0 || x.dim(xi) == 1) {
                strides[i] = 0;
            } else {
                throw new IllegalArgumentException("cannot expand " + x.shape() + " to " + target
                        + ": dimension " + xi + " is neither 1 nor " + target.dim(i));
            }
        }
        if (x.shape().equals(target)) {
            return x;
        }
        Tensor out = x.view(target, strides, x.offset());
        Shape from = x.shape();
        return Autograd.record("expand", out, d -> new Tensor[]{Reductions.sumTo(d, from)}, x);
    }

    /**
     * Refuses a layout that reaches outside {@code storage}: kernels trust a view's strides and offset, and on a GPU
     * nothing else would stop them reading or writing past the allocation.
     */
    static void requireInside(Storage storage, DType dtype, Shape shape, long[] strides, long offset) {
        if (strides.length != shape.rank()) {
            throw new IllegalArgumentException("a view of shape " + shape + " needs " + shape.rank() + " strides, got "
                    + Arrays.toString(strides));
        }
        // NOTE: NF4 storage is codes behind block scales, read whole by the quantization kernels: element counts do
        // not map to bytes, so its views are not bounded here
        if (shape.numel() == 0 || dtype == DType.NF4) {
            return;
        }
        long capacity = storage.byteSize() / dtype.byteSize();
        try {
            long first = offset;
            long last = offset;
            for (int i = 0; i < strides.length; i++) {
                long reach = Math.multiplyExact(shape.dim(i) - 1L, strides[i]);
                first = Math.addExact(first, Math.min(0, reach));
                last = Math.addExact(last, Math.max(0, reach));
            }
            if (first >= 0 && last < capacity) {
                return;
            }
        } catch (ArithmeticException overflow) {
            // falls through to the refusal below: such a view reaches beyond any storage
        }
        throw new IllegalArgumentException("a view of shape " + shape + ", strides " + Arrays.toString(strides)
                + " and offset " + offset + " reaches outside its storage of " + capacity + " " + dtype
                + " elements; derive views with reshape, slice, transpose, permute or expand");
    }

    static Tensor contiguous(Tensor x) {
        if (x.isContiguous()) {
            return x;
        }
        Tensor out = x.convertTo(x.dtype(), TensorScope.current());
        return Autograd.record("contiguous", out, d -> new Tensor[]{d}, x);
    }

    private static int[] resolve(int[] dims, long numel, Shape from) {
        int[] r = dims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < r.length; i++) {
            if (r[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("only one -1 allowed in reshape " + Arrays.toString(dims));
                }
                infer = i;
            } else {
                known *= r[i];
            }
        }
        if (infer >= 0) {
            r[infer] = known == 0 ? 0 : Math.toIntExact(numel / known);
            known *= r[infer];
        }
        if (known != numel) {
            throw new IllegalArgumentException("cannot reshape " + from + " (" + numel + " elements) to " + Arrays.toString(dims));
        }
        return r;
    }
}
