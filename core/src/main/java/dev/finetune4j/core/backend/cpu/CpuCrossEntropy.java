package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Token log-probabilities on the CPU, one parallel task per row: the forward only reads the logits (max and
 * sum of exponentials), the backward writes the recomputed softmax straight into the gradient.
 */
final class CpuCrossEntropy implements CrossEntropyKernels {
    private final MathKernels math;

    CpuCrossEntropy(MathKernels math) {
        this.math = math;
    }

    @Override
    public void tokenLogProbs(Tensor logits, Tensor labels, int ignoreIndex, Tensor logProbs, Tensor rowMax,
                              Tensor invRowSum) {
        int v = logits.dim(-1);
        int[] label = labels(labels, ignoreIndex, v);
        float[] x = CpuTensors.read(logits);
        float[] lp = CpuTensors.output(logProbs);
        float[] max = CpuTensors.output(rowMax);
        float[] inv = CpuTensors.output(invRowSum);
        IntStream.range(0, label.length).parallel().forEach(r -> {
            if (label[r] == ignoreIndex) {
                lp[r] = 0f;
                max[r] = 0f;
                inv[r] = 0f;
                return;
            }
            int o = r * v;
            float m = math.max(x, o, v);
            double sum = math.sumExp(x, o, v, m);
            max[r] = m;
            inv[r] = (float) (1.0 / sum);
            lp[r] = (float) (x[o + label[r]] - m - Math.log(sum)); // (x - max) - log(sum), as CpuSoftmax's log-softmax
        });
        CpuTensors.commit(logProbs, lp);
        CpuTensors.commit(rowMax, max);
        CpuTensors.commit(invRowSum, inv);
    }

    @Override
    public void tokenLogProbsBackward(Tensor logits, Tensor labels, int ignoreIndex, Tensor rowMax, Tensor invRowSum,
                                      Tensor dLogProbs, Tensor dLogits) {
        int v = logits.dim(-1);
        int[] label = labels(labels, ignoreIndex, v);
        float[] x = CpuTensors.read(logits);
        float[] max = CpuTensors.read(rowMax);
        float[] inv = CpuTensors.read(invRowSum);
        float[] d = CpuTensors.read(dLogProbs);
        float[] g = CpuTensors.floatOutput(dLogits);
        IntStream.range(0, label.length).parallel().forEach(r -> {
            int o = r * v;
            if (label[r] == ignoreIndex) {
                Arrays.fill(g, o, o + v, 0f);
                return;
            }
            System.arraycopy(x, o, g, o, v);
            math.expInPlace(g, o, v, max[r]);
            for (int i = o; i < o + v; i++) {
                g[i] = -(g[i] * inv[r]) * d[r]; // -softmax * d, the softmax rounded as the forward's
            }
            g[o + label[r]] += d[r];
        });
        CpuTensors.commit(dLogits, g);
    }

    /** The labels of a contiguous I32 tensor, each checked to be a class of {@code [0, v)} or the ignore index. */
    private static int[] labels(Tensor labels, int ignoreIndex, int v) {
        if (labels.dtype() != DType.I32 || !labels.isContiguous()) {
            throw new IllegalArgumentException("cross-entropy labels must be a contiguous I32 tensor, got " + labels);
        }
        MemorySegment s = CpuTensors.segment(labels);
        int[] out = new int[Math.toIntExact(labels.numel())];
        MemorySegment.copy(s, ValueLayout.JAVA_INT_UNALIGNED, labels.offset() * Integer.BYTES, out, 0, out.length);
        for (int r = 0; r < out.length; r++) {
            if (out[r] != ignoreIndex && (out[r] < 0 || out[r] >= v)) {
                throw new IllegalArgumentException("label " + out[r] + " at row " + r + " is outside [0, " + v
                        + ") and is not the ignore index " + ignoreIndex);
            }
        }
        return out;
    }
}
