package dev.finetune4j.core.tensor;

import dev.finetune4j.core.autograd.Autograd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

    /** out dimension i is x dimension order[i]; backward permutes with the inverse order. */
    static Tensor permute(Tensor x, int... order) {
        if (order.length != x.rank()) {
            throw new IllegalArgumentException("permute order " + Arrays.toString(order) + " does not match rank of " + x.shape());
        }
        int[] dims = new int[order.length];
        long[] strides = new long[order.length];
        long[] xs = x.strides();
        int[] inverse = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            dims[i] = x.dim(order[i]);
            strides[i] = xs[order[i]];
            inverse[order[i]] = i;
        }
        Tensor out = x.view(Shape.of(dims), strides, x.offset());
        return Autograd.record("permute", out, d -> new Tensor[]{permute(d, inverse)}, x);
    }

    /** Elements [start, end) of dimension dim; backward scatters dOut into zeros shaped like x. */
    static Tensor slice(Tensor x, int dim, int start, int end) {
        int d = x.shape().normalize(dim);
        if (start < 0 || end > x.dim(d) || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") of dimension " + d + " of " + x.shape());
        }
        long[] strides = x.strides();
        Tensor out = x.view(x.shape().with(d, end - start), strides, x.offset() + start * strides[d]);
        return Autograd.record("slice", out, dOut -> {
            Tensor g = Tensor.zeros(x.shape());
            copyInto(dOut, g.view(dOut.shape(), g.strides(), start * g.strides()[d]));
            return new Tensor[]{g};
        }, x);
    }

    static Tensor contiguous(Tensor x) {
        if (x.isContiguous()) {
            return x;
        }
        Tensor out = copyContiguous(x, TensorScope.current());
        return Autograd.record("contiguous", out, d -> new Tensor[]{d}, x);
    }

    static Tensor copyContiguous(Tensor x, TensorScope scope) {
        if (x.dtype() == DType.F32) {
            // the strided float gather, wrapped as a heap segment like op results (no zero-fill, no second copy)
            return Tensor.wrap(scope, MemorySegment.ofArray(x.toFloatArray()), DType.F32, x.shape());
        }
        Tensor out = Tensor.zeros(scope, x.dtype(), x.shape());
        copyInto(x, out);
        return out;
    }

    /**
     * Copies src into dst element by element (same shape, any layouts). Equal dtypes copy the element bytes;
     * others convert through float32.
     */
    static void copyInto(Tensor src, Tensor dst) {
        if (!src.shape().equals(dst.shape())) {
            throw new IllegalArgumentException("copy from " + src.shape() + " into " + dst.shape());
        }
        long[] from = src.elementOffsets();
        long[] to = dst.elementOffsets();
        MemorySegment s = src.storage();
        MemorySegment t = dst.storage();
        if (src.dtype() == DType.F32 && dst.dtype() == DType.F32) {
            for (int i = 0; i < from.length; i++) {
                t.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, to[i], s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, from[i]));
            }
        } else if (src.dtype() == dst.dtype() && src.dtype() != DType.NF4) {
            // NOTE: not through float32, which would round I64/I32 values above 2^24.
            long size = src.dtype().byteSize();
            for (int i = 0; i < from.length; i++) {
                MemorySegment.copy(s, from[i] * size, t, to[i] * size, size);
            }
        } else {
            for (int i = 0; i < from.length; i++) {
                DTypeCodec.writeFloat(t, dst.dtype(), to[i], DTypeCodec.readFloat(s, src.dtype(), from[i]));
            }
        }
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
