package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;


/** Cross-entropy and per-token log-probabilities from logits, with an ignore index. */
public final class CrossEntropy {
    /** The label value that contributes nothing (Hugging Face's and PyTorch's -100). */
    public static final int IGNORE_INDEX = -100;

    private CrossEntropy() {
    }

    /**
     * Mean negative log-likelihood over the rows whose label is not {@link #IGNORE_INDEX}, as
     * {@code F.cross_entropy(reduction="mean")}: NaN when every label is ignored.
     * logits: (N, V), labels: [N] -> [1]. Backward: (softmax - onehot) / count.
     */
    public static Tensor loss(Tensor logits, int[] labels) {
        int count = 0;
        for (int label : labels) {
            if (label != IGNORE_INDEX) {
                count++;
            }
        }
        // NOTE: mean of -log p over the counted rows; 0/0 gives NaN exactly as PyTorch does.
        return Elementwise.scale(Reductions.sum(tokenLogProbs(logits, labels)), -1f / count);
    }

    /**
     * log p(label) per row (0 where the label is ignored). logits: (N, V), labels: [N] -> (N).
     * Backward: dlogits = d * (onehot - softmax).
     */
    public static Tensor tokenLogProbs(Tensor logits, int[] labels) {
        int v = logits.dim(-1);
        int n = logits.shape().rows();
        checkLabels(labels, n, v);
        float[] probs = Buffers.floats(logits);
        float[] out = new float[n];
        IntStream.range(0, n).parallel().forEach(r -> {
            if (labels[r] != IGNORE_INDEX) {
                out[r] = logProbAndSoftmaxRow(probs, r * v, v, labels[r]);
            }
        });
        Tensor result = Buffers.tensor(out, n);
        return Autograd.record("tokenLogProbs", result, dOut -> {
            float[] d = Buffers.read(dOut);
            float[] g = new float[probs.length];
            IntStream.range(0, n).parallel().forEach(r -> {
                if (labels[r] == IGNORE_INDEX) {
                    return;
                }
                int o = r * v;
                for (int i = 0; i < v; i++) {
                    g[o + i] = -probs[o + i] * d[r];
                }
                g[o + labels[r]] += d[r];
            });
            return new Tensor[]{Buffers.tensor(g, logits.shape())};
        }, logits);
    }

    /**
     * Replaces row {@code a[o .. o+n)} of logits by its softmax (kept for the backward pass, which then needs
     * no exponentials) and returns the log-probability of {@code label}, computed as (x - max) - log(sum) like
     * {@link Softmax#logSoftmax}.
     */
    private static float logProbAndSoftmaxRow(float[] a, int o, int n, int label) {
        float max = Buffers.math().max(a, o, n);
        float logit = a[o + label];
        double sum = Softmax.normalizeInPlace(a, o, n, max);
        return (float) (logit - max - Math.log(sum));
    }

    private static void checkLabels(int[] labels, int n, int v) {
        if (labels.length != n) {
            throw new IllegalArgumentException(labels.length + " labels for " + n + " rows of logits");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] != IGNORE_INDEX && (labels[i] < 0 || labels[i] >= v)) {
                throw new IllegalArgumentException("label " + labels[i] + " at row " + i + " is outside [0, " + v + ") and is not the ignore index " + IGNORE_INDEX);
            }
        }
    }
}
