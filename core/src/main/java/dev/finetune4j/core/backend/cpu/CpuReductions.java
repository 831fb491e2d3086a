package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Sums on the CPU: a total in double, partial sums in float32 in row-major order (as the earlier loops); the argmax
 * of rows by a scan from column 0.
 */
final class CpuReductions implements ReductionKernels {

    @Override
    public void sumTo(Tensor x, Tensor out) {
        float[] v = CpuTensors.read(x);
        float[] o = CpuTensors.output(out);
        if (o.length == 1) {
            double s = 0;
            for (float f : v) {
                s += f;
            }
            o[0] = (float) s;
        } else {
            java.util.Arrays.fill(o, 0f);
            int[] run = reducedRun(x, out);
            if (run != null) {
                sumRun(v, o, run[0], run[1], run[2]);
            } else {
                int[] map = targetIndex(x, out);
                for (int i = 0; i < v.length; i++) {
                    o[map[i]] += v[i];
                }
            }
        }
        CpuTensors.commit(out, o);
    }

    /**
     * x seen as (outer, reduced, inner) when the dimensions it is summed over onto out form one run (a bias's gradient
     * summed over rows, a per-row scale's over columns), else null. Dimensions of size 1 take no part.
     */
    private static int[] reducedRun(Tensor x, Tensor out) {
        requireSummable(x, out);
        int outer = 1;
        int reduced = 1;
        int inner = 1;
        int phase = 0; // 0: before the run, 1: in it, 2: after it
        for (int d = 0; d < x.rank(); d++) {
            int n = x.dim(d);
            if (n == 1) {
                continue;
            }
            if (out.dim(d) == 1) {
                if (phase == 2) {
                    return null;
                }
                phase = 1;
                reduced *= n;
            } else if (phase == 0) {
                outer *= n;
            } else {
                phase = 2;
                inner *= n;
            }
        }
        return new int[]{outer, reduced, inner};
    }

    /** {@code o[a][c] = sum over r of v[a][r][c]}, each sum in increasing r: the order of the general path. */
    private static void sumRun(float[] v, float[] o, int outer, int reduced, int inner) {
        for (int a = 0; a < outer; a++) {
            int target = a * inner;
            for (int r = 0; r < reduced; r++) {
                int source = (a * reduced + r) * inner;
                for (int c = 0; c < inner; c++) {
                    o[target + c] += v[source + c];
                }
            }
        }
    }

    private static void requireSummable(Tensor x, Tensor out) {
        if (out.rank() != x.rank()) {
            throw new IllegalArgumentException("sumTo: " + x.shape() + " onto " + out.shape() + " (ranks differ)");
        }
        for (int d = 0; d < x.rank(); d++) {
            if (out.dim(d) != x.dim(d) && out.dim(d) != 1) {
                throw new IllegalArgumentException("sumTo: " + x.shape() + " onto " + out.shape() + " (dimension " + d + ")");
            }
        }
    }

    /** For every element of x (row-major), the flat index of the element of out it is summed into. */
    private static int[] targetIndex(Tensor x, Tensor out) {
        int rank = x.rank();
        long[] outStrides = out.shape().contiguousStrides();
        long[] strides = new long[rank];
        for (int d = 0; d < rank; d++) {
            strides[d] = out.dim(d) == 1 ? 0 : outStrides[d];
        }
        int[] map = new int[Math.toIntExact(x.numel())];
        int[] idx = new int[rank];
        long cur = 0;
        for (int i = 0; i < map.length; i++) {
            map[i] = (int) cur;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                cur += strides[d];
                if (idx[d] < x.dim(d)) {
                    break;
                }
                cur -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
        return map;
    }

    @Override
    public void dots(Tensor x, Tensor y, int dim, Tensor out) {
        ReductionKernels.requireDots(x, y, dim, out);
        int cols = x.dim(1);
        float[] xs = CpuTensors.read(x);
        float[] ys = CpuTensors.read(y);
        double[] sums = new double[Math.toIntExact(out.numel())];
        for (int i = 0; i < xs.length; i++) {
            float product = xs[i] * ys[i];
            sums[dim == 1 ? i / cols : i % cols] += product;
        }
        float[] o = CpuTensors.output(out);
        for (int k = 0; k < o.length; k++) {
            o[k] = (float) sums[k];
        }
        CpuTensors.commit(out, o);
    }

    @Override
    public void argmax(Tensor x, Tensor out) {
        ReductionKernels.requireArgmax(x, out);
        int cols = x.dim(1);
        float[] v = CpuTensors.read(x);
        long[] best = new long[x.dim(0)];
        for (int r = 0; r < best.length; r++) {
            int at = r * cols;
            for (int c = 1; c < cols; c++) {
                if (v[r * cols + c] > v[at]) {
                    at = r * cols + c;
                }
            }
            best[r] = at - (long) r * cols;
        }
        out.backend().copyFromHost(MemorySegment.ofArray(best), out);
    }

    @Override
    public void norm(Tensor x, Tensor out) {
        float[] v = CpuTensors.read(x);
        double sumSq = 0;
        for (float f : v) {
            sumSq += (double) f * f;
        }
        float[] o = CpuTensors.output(out);
        o[0] = (float) Math.sqrt(sumSq);
        CpuTensors.commit(out, o);
    }
}
