package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/** Sums and means, over everything or over one dimension. */
public final class Reductions {
    private Reductions() {
    }

    /** Sum of all elements: any shape -> [1]. Backward broadcasts dOut to x's shape. */
    public static Tensor sum(Tensor x) {
        float[] v = Buffers.read(x);
        double s = 0;
        for (float f : v) {
            s += f;
        }
        Tensor out = Buffers.tensor(new float[]{(float) s}, 1);
        return Autograd.record("sum", out, d -> new Tensor[]{fill(x.shape(), d.getFlat(0))}, x);
    }

    /** Mean of all elements: any shape -> [1]. */
    public static Tensor mean(Tensor x) {
        return Elementwise.scale(sum(x), 1f / x.numel());
    }

    /** Sum over dimension {@code dim}: (..., D, ...) -> (..., 1, ...) when keepDim, else the dimension is dropped. */
    public static Tensor sum(Tensor x, int dim, boolean keepDim) {
        int d = x.shape().normalize(dim);
        int[] dims = x.shape().dims();
        int outer = 1;
        for (int i = 0; i < d; i++) {
            outer *= dims[i];
        }
        int size = dims[d];
        int inner = Math.toIntExact(x.numel() / Math.max(1, (long) outer * size));
        float[] v = Buffers.read(x);
        float[] out = new float[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int s = 0; s < size; s++) {
                int base = (o * size + s) * inner;
                for (int i = 0; i < inner; i++) {
                    out[o * inner + i] += v[base + i];
                }
            }
        }
        int[] kept = dims.clone();
        kept[d] = 1;
        Shape keptShape = Shape.of(kept);
        Tensor result = Buffers.tensor(out, keptShape);
        if (!keepDim) {
            result = result.detach().reshape(drop(dims, d));
        }
        Shape in = x.shape();
        return Autograd.record("sumDim", result, g -> new Tensor[]{expand(g.reshape(kept), in)}, x);
    }

    /** Mean over dimension {@code dim}. */
    public static Tensor mean(Tensor x, int dim, boolean keepDim) {
        return Elementwise.scale(sum(x, dim, keepDim), 1f / x.dim(dim));
    }

    /** Sums a broadcast gradient back to {@code shape} (the backward of broadcasting). */
    public static Tensor sumTo(Tensor g, Shape shape) {
        if (g.shape().equals(shape)) {
            return g;
        }
        float[] v = Buffers.read(g);
        float[] out = new float[Math.toIntExact(shape.numel())];
        int[] map = Broadcast.indexMap(shape, g.shape());
        for (int i = 0; i < v.length; i++) {
            out[map[i]] += v[i];
        }
        return Buffers.tensor(out, shape);
    }

    /** Broadcasts {@code g} (size-1 where {@code shape} is larger) to {@code shape}. */
    static Tensor expand(Tensor g, Shape shape) {
        float[] v = Buffers.floats(g);
        int[] map = Broadcast.indexMap(g.shape(), shape);
        if (map == null) {
            return Buffers.tensor(v, shape);
        }
        float[] out = new float[map.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = v[map[i]];
        }
        return Buffers.tensor(out, shape);
    }

    private static Tensor fill(Shape shape, float value) {
        float[] out = new float[Math.toIntExact(shape.numel())];
        java.util.Arrays.fill(out, value);
        return Buffers.tensor(out, shape);
    }

    private static int[] drop(int[] dims, int d) {
        int[] r = new int[dims.length - 1];
        for (int i = 0, j = 0; i < dims.length; i++) {
            if (i != d) {
                r[j++] = dims[i];
            }
        }
        return r;
    }
}
