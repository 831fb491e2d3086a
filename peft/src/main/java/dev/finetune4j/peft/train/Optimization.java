package dev.finetune4j.peft.train;

import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The update half of a step over the trainable parameters: global-norm clipping as
 * {@code torch.nn.utils.clip_grad_norm_}, AdamW as {@code torch.optim.AdamW} (single-tensor path, float32
 * state, decoupled weight decay) and Hugging Face's learning-rate schedules with warm-up.
 *
 * <p>State (first and second moments, step count) is exported and imported exactly for checkpoints.
 */
final class Optimization {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final List<String> names;
    private final List<Tensor> params;
    private final TrainingConfig cfg;
    private final int totalSteps;
    private final int warmupSteps;
    private final List<float[]> expAvg = new ArrayList<>();
    private final List<float[]> expAvgSq = new ArrayList<>();
    private long adamSteps;

    Optimization(Map<String, Tensor> parameters, TrainingConfig cfg, int totalSteps) {
        this.names = List.copyOf(parameters.keySet());
        this.params = List.copyOf(parameters.values());
        this.cfg = cfg;
        this.totalSteps = totalSteps;
        this.warmupSteps = cfg.warmupStepsFor(totalSteps);
        for (Tensor p : params) {
            if (!p.isContiguous()) {
                throw new IllegalArgumentException("trainable parameter '" + p.name() + "' is not contiguous");
            }
            expAvg.add(new float[(int) p.numel()]);
            expAvgSq.add(new float[(int) p.numel()]);
        }
    }

    /**
     * Learning rate of optimizer step {@code step} (0-based), as HF's LambdaLR after {@code step} scheduler steps.
     */
    double learningRate(int step) {
        double factor;
        if (step < warmupSteps) {
            factor = (double) step / Math.max(1, warmupSteps);
        } else {
            double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            factor = switch (cfg.schedule()) {
                case CONSTANT -> 1.0;
                case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
                case COSINE -> Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            };
        }
        return cfg.learningRate() * factor;
    }

    /** Global L2 norm of all gradients (a missing gradient counts as zero); NaN/Inf when any element is. */
    double gradNorm() {
        double sumSq = 0;
        for (Tensor p : params) {
            if (p.grad() == null) {
                continue;
            }
            double local = 0;
            for (float v : p.grad().toFloatArray()) {
                local += (double) v * v;
            }
            float norm = (float) Math.sqrt(local); // torch keeps each tensor's norm in float32
            sumSq += (double) norm * norm;
        }
        return Math.sqrt(sumSq);
    }

    /** Scales every gradient by min(1, maxNorm / (norm + 1e-6)), as torch does (always multiplying). */
    void clip(double norm, double maxNorm) {
        float coef = (float) Math.min(1.0, maxNorm / (norm + 1e-6));
        for (Tensor p : params) {
            Tensor grad = p.grad();
            if (grad == null) {
                continue;
            }
            float[] g = grad.toFloatArray();
            for (int i = 0; i < g.length; i++) {
                g[i] *= coef;
            }
            write(grad, g);
        }
    }

    /** One AdamW update with learning rate {@code lr}. */
    void step(double lr) {
        adamSteps++;
        double beta1 = cfg.adamBeta1();
        double beta2 = cfg.adamBeta2();
        float decay = (float) (1 - lr * cfg.weightDecay());
        double biasCorrection1 = 1 - Math.pow(beta1, adamSteps);
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, adamSteps));
        float stepSize = (float) (lr / biasCorrection1);
        float b1 = (float) (1 - beta1);
        float b2 = (float) beta2;
        float oneMinusB2 = (float) (1 - beta2);
        float bc2 = (float) biasCorrection2Sqrt;
        float eps = (float) cfg.adamEpsilon();
        for (int k = 0; k < params.size(); k++) {
            Tensor p = params.get(k);
            if (p.grad() == null) {
                continue;
            }
            float[] w = p.toFloatArray();
            float[] g = p.grad().toFloatArray();
            float[] m = expAvg.get(k);
            float[] v = expAvgSq.get(k);
            for (int i = 0; i < w.length; i++) {
                w[i] *= decay;
                m[i] += b1 * (g[i] - m[i]); // torch lerp_ with weight < 0.5
                v[i] = v[i] * b2 + oneMinusB2 * g[i] * g[i];
                float denom = (float) Math.sqrt(v[i]) / bc2 + eps;
                w[i] += -stepSize * (m[i] / denom);
            }
            write(p, w);
        }
    }

    /** Sets every gradient to zero in place (gradients live in the parameters' scope). */
    void zeroGrad() {
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g != null) {
                g.storage().asSlice(g.offset() * Float.BYTES, g.numel() * Float.BYTES).fill((byte) 0);
            }
        }
    }

    /** AdamW steps taken (skipped steps excluded). */
    long adamSteps() {
        return adamSteps;
    }

    /** The moments by parameter name: {@code <name>.exp_avg} and {@code <name>.exp_avg_sq}. */
    Map<String, float[]> exportState() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            out.put(names.get(k) + ".exp_avg", expAvg.get(k));
            out.put(names.get(k) + ".exp_avg_sq", expAvgSq.get(k));
        }
        return out;
    }

    /** Restores what {@link #exportState()} gave, and the step count. */
    void importState(Map<String, float[]> state, long steps) {
        for (int k = 0; k < names.size(); k++) {
            copyInto(state, names.get(k) + ".exp_avg", expAvg.get(k));
            copyInto(state, names.get(k) + ".exp_avg_sq", expAvgSq.get(k));
        }
        adamSteps = steps;
    }

    private static void copyInto(Map<String, float[]> state, String key, float[] into) {
        float[] src = state.get(key);
        if (src == null || src.length != into.length) {
            throw new IllegalArgumentException("the checkpoint's optimizer state has " + (src == null ? "no '" + key + "'"
                    : "'" + key + "' with " + src.length + " values, expected " + into.length)
                    + ": it was written for another adapter; resume with the adapter configuration it was trained with");
        }
        System.arraycopy(src, 0, into, 0, into.length);
    }

    private static void write(Tensor t, float[] values) {
        MemorySegment.copy(values, 0, t.storage(), F, t.offset() * Float.BYTES, values.length);
    }
}
