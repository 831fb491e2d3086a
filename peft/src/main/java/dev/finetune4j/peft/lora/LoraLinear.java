package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.Dropout;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterLayer;
import dev.finetune4j.peft.BaseLinear;

import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * A LoRA adapter around a frozen linear layer, PEFT's {@code lora.Linear}, with the tree PEFT has:
 * {@code base_layer}, {@code lora_A} (r, in), {@code lora_B} (out, r) and, for DoRA, {@code lora_magnitude_vector} (out).
 *
 * <p>LoRA: y = base(x) + s B A dropout(x), s = alpha / r (alpha / sqrt(r) with rsLoRA).
 * <p>DoRA (Liu et al. 2024, eq. 5): y = bias + (m / ||W + s B A||_row) (x W^T + s x A^T B^T), where the row norm
 * is a constant for autograd (section 4.3), computed as PEFT's {@code DoraLinearLayer} does:
 * y = base(x) + (m/n - 1)(base(x) - bias) + (m/n) s B A x; with active dropout base(x) - bias is replaced by
 * dropout(x) W^T.
 *
 * <p>Thread safety: forward is safe concurrently when not training (dropout draws from a shared stream);
 * merge, unmerge and enabling are not.
 */
public final class LoraLinear extends Module implements Layer, AdapterLayer {
    private final BaseLinear base;
    private final float scaling;
    private final float dropout;
    private final boolean dora;
    private final Supplier<SplittableRandom> random;
    private boolean enabled = true;
    private boolean merged;
    private float[] mergedNorm;

    /**
     * @param baseLayer the frozen layer (a Linear or a quantized linear)
     * @param base      its linear view
     * @param rank      r
     * @param scaling   s
     * @param dropout   dropout probability on the adapter input in training mode
     * @param dora      whether to add DoRA's magnitude vector (initialised to the row norms of W + s B A)
     * @param scope     where the adapter's weights live
     * @param random    the dropout stream (the base model's, so that checkpoints restore it)
     */
    public LoraLinear(Module baseLayer, BaseLinear base, int rank, double scaling, double dropout, boolean dora,
                      TensorScope scope, Supplier<SplittableRandom> random) {
        this.base = base;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
        this.dora = dora;
        this.random = random;
        registerChild("base_layer", baseLayer);
        registerChild("lora_A", new Linear(scope, base.inFeatures(), rank, false));
        registerChild("lora_B", new Linear(scope, rank, base.outFeatures(), false));
        if (dora) {
            registerParameter("lora_magnitude_vector", Tensor.zeros(scope, DType.F32, Shape.of(base.outFeatures())));
        }
    }

    /** A (r, in). */
    public Tensor loraA() {
        return ((Linear) child("lora_A")).weight();
    }

    /** B (out, r). */
    public Tensor loraB() {
        return ((Linear) child("lora_B")).weight();
    }

    /** DoRA's magnitude m (out), or null for plain LoRA. */
    public Tensor magnitude() {
        return dora ? parameter("lora_magnitude_vector") : null;
    }

    /** s. */
    public float scaling() {
        return scaling;
    }

    /** Sets DoRA's magnitude to the row norms of W + s B A, as PEFT does when it creates the layer. */
    public void initMagnitude() {
        float[] n = rowNorms(base.weightOutIn(), delta());
        Tensor m = magnitude();
        for (int i = 0; i < n.length; i++) {
            m.setFlat(i, n[i]);
        }
    }

    /** x: (..., in) -> (..., out). */
    @Override
    public Tensor forward(Tensor x) {
        if (!enabled || merged) {
            return base.forward(x);
        }
        boolean drop = isTraining() && dropout > 0;
        // NOTE: the key's seed is the next draw of the model's dropout stream, which the training loop reseeds per
        // step and micro-batch; a per-layer call counter would restart at 0 in a resumed run and change its masks.
        Tensor xa = drop ? Dropout.apply(x, dropout, new DropoutKey(random.get().nextLong(), 0, 0)) : x;
        Tensor dense = base.denseWeightOutIn();
        if (!dora && !drop && dense != null) {
            // base product and update in one op: one input gradient instead of two to add up
            return LowRank.linear(x, dense, base.bias(), loraA(), loraB(), scaling);
        }
        Tensor result = base.forward(x);
        if (!dora) {
            return LowRank.add(result, xa, loraA(), loraB(), scaling);
        }
        Tensor lora = layer("lora_B").forward(layer("lora_A").forward(xa));
        Tensor baseResult;
        if (drop) {
            baseResult = Matmul.linear(xa, Tensor.of(base.weightOutIn(), base.outFeatures(), base.inFeatures()), null);
        } else {
            baseResult = base.bias() == null ? result : Elementwise.sub(result, base.bias());
        }
        return doraOutput(result, baseResult, doraScale(), lora, scaling);
    }

    /**
     * DoRA's scale m / ||W + s B A||_row (out): the norm is computed without autograd (PEFT detaches it), the
     * magnitude gets its gradient.
     *
     * @return the scale in the current scope
     * @throws IllegalStateException for a plain LoRA layer
     */
    public Tensor doraScale() {
        if (!dora) {
            throw new IllegalStateException("a plain LoRA layer has no DoRA scale");
        }
        float[] norm = rowNorms(base.weightOutIn(), delta());
        return Elementwise.div(magnitude(), Tensor.of(norm, norm.length));
    }

    /**
     * DoRA's output from its parts: y = base(x) + (scale - 1) (base(x) - bias) + scale s B A x.
     *
     * @param result     base(x) (..., out)
     * @param baseResult base(x) without the bias (..., out)
     * @param scale      {@link #doraScale()} (out)
     * @param lora       B A x without the scaling (..., out)
     * @param scaling    s
     * @return the layer's output (..., out)
     */
    public static Tensor doraOutput(Tensor result, Tensor baseResult, Tensor scale, Tensor lora, float scaling) {
        Tensor dBase = Elementwise.mul(Elementwise.addScalar(scale, -1f), baseResult);
        Tensor dLora = Elementwise.mul(scale, Elementwise.scale(lora, scaling));
        return Elementwise.add(result, Elementwise.add(dBase, dLora));
    }

    /** s B A as (out, in), row-major. */
    public float[] delta() {
        float[] a = loraA().toFloatArray();
        float[] b = loraB().toFloatArray();
        int out = base.outFeatures();
        int in = base.inFeatures();
        int r = loraA().dim(0);
        float[] d = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                float bk = b[o * r + k] * scaling;
                for (int i = 0; i < in; i++) {
                    d[o * in + i] += bk * a[k * in + i];
                }
            }
        }
        return d;
    }

    /** ||w + d|| per row of (out, in) matrices. */
    private float[] rowNorms(float[] w, float[] d) {
        int out = base.outFeatures();
        int in = base.inFeatures();
        float[] n = new float[out];
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int i = 0; i < in; i++) {
                double v = w[o * in + i] + d[o * in + i];
                s += v * v;
            }
            n[o] = (float) Math.sqrt(s);
        }
        return n;
    }

    @Override
    public Module baseLayer() {
        return child("base_layer");
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }

    /** {@code W <- W + s B A}; DoRA: {@code W <- (m / ||W + s B A||_row) (W + s B A)}, keeping the norm for unmerge. */
    @Override
    public void merge() {
        float[] w = base.weightOutIn();
        float[] d = delta();
        if (dora) {
            mergedNorm = rowNorms(w, d);
        }
        float[] factor = doraFactor();
        int in = base.inFeatures();
        for (int i = 0; i < w.length; i++) {
            w[i] = factor == null ? w[i] + d[i] : factor[i / in] * (w[i] + d[i]);
        }
        base.setWeightOutIn(w);
        merged = true;
    }

    /** The inverse of {@link #merge()}: {@code W <- W - s B A}, or {@code W / (m / n) - s B A} for DoRA. */
    @Override
    public void unmerge() {
        float[] w = base.weightOutIn();
        float[] d = delta();
        float[] factor = doraFactor();
        int in = base.inFeatures();
        for (int i = 0; i < w.length; i++) {
            w[i] = factor == null ? w[i] - d[i] : w[i] / factor[i / in] - d[i];
        }
        base.setWeightOutIn(w);
        merged = false;
        mergedNorm = null;
    }

    /** m / n per output row during a DoRA merge, null for plain LoRA. */
    private float[] doraFactor() {
        if (!dora) {
            return null;
        }
        float[] m = magnitude().toFloatArray();
        float[] f = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            f[i] = m[i] / mergedNorm[i];
        }
        return f;
    }
}
