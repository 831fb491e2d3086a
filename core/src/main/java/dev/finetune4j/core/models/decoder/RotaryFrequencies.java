package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.backend.Device;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Inverse frequencies of rotary embeddings for each scaling type, computed in float32 as Hugging Face's
 * {@code ROPE_INIT_FUNCTIONS} do, so that angles (and logits) match the reference bit for bit where possible.
 *
 * <p>Thread-safe: the table cache below is a single atomic slot.
 */
public final class RotaryFrequencies {
    private final float[] invFreq;
    private final float attentionScaling;
    private final AtomicReference<Rotary.Table> lastTable = new AtomicReference<>();

    /**
     * Frequencies as computed by {@link #of}, or given directly in tests.
     *
     * @param invFreq          one frequency per pair, (D/2)
     * @param attentionScaling multiplier of cos and sin (1 except YaRN)
     */
    public RotaryFrequencies(float[] invFreq, float attentionScaling) {
        this.invFreq = invFreq;
        this.attentionScaling = attentionScaling;
    }

    /**
     * The inverse frequencies.
     *
     * @return the array itself, (D/2); do not modify it
     */
    public float[] invFreq() {
        return invFreq;
    }

    /**
     * The multiplier of cos and sin.
     *
     * @return 1 except for YaRN scaling
     */
    public float attentionScaling() {
        return attentionScaling;
    }

    /**
     * The cos/sin table for {@code positions} on {@code device}. Every layer of one forward pass shares the same
     * positions array, so the table is computed once per pass and reused while the scope it was made in is open
     * (a concurrent pass just computes its own; a pass in a scope that outlived the table's makes a new one).
     *
     * @param positions [B][T] position of each token
     * @param device where the table is needed
     * @return the table
     */
    public Rotary.Table table(int[][] positions, Device device) {
        Rotary.Table last = lastTable.get();
        if (last != null && last.positions() == positions && last.usableOn(device)) {
            return last;
        }
        Rotary.Table fresh = Rotary.Table.of(device, positions, invFreq, attentionScaling);
        lastTable.set(fresh);
        return fresh;
    }

    /**
     * The frequencies of a rotary configuration (default, linear, Llama 3 or YaRN scaling).
     *
     * @param rope the rotary settings
     * @param headDim the head size D, even
     * @return the frequencies
     */
    public static RotaryFrequencies of(RopeConfig rope, int headDim) {
        float[] base = defaultFrequencies(rope.ropeTheta(), headDim);
        return switch (rope.ropeType()) {
            case "default" -> new RotaryFrequencies(base, 1f);
            case "linear" -> {
                for (int i = 0; i < base.length; i++) {
                    base[i] = (float) (base[i] / rope.factor());
                }
                yield new RotaryFrequencies(base, 1f);
            }
            case "llama3" -> new RotaryFrequencies(llama3(base, rope), 1f);
            case "yarn" -> yarn(rope, headDim);
            default -> throw new IllegalArgumentException("unsupported rope_type " + rope.ropeType());
        };
    }

    /** inv_freq[i] = 1 / theta^(2i / d), in float32 like torch. */
    private static float[] defaultFrequencies(double theta, int dim) {
        float[] f = new float[dim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            f[i] = 1f / (float) Math.pow(theta, exponent);
        }
        return f;
    }

    /** Llama 3.1: keep high frequencies, divide low ones by factor, interpolate smoothly between. */
    private static float[] llama3(float[] inv, RopeConfig r) {
        double lowWavelen = r.originalMaxPositionEmbeddings() / r.lowFreqFactor();
        double highWavelen = r.originalMaxPositionEmbeddings() / r.highFreqFactor();
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                out[i] = (float) (inv[i] / r.factor());
            } else if (wavelen < highWavelen) {
                out[i] = inv[i];
            } else {
                double smooth = (r.originalMaxPositionEmbeddings() / wavelen - r.lowFreqFactor()) / (r.highFreqFactor() - r.lowFreqFactor());
                out[i] = (float) ((1 - smooth) * inv[i] / r.factor() + smooth * inv[i]);
            }
        }
        return out;
    }

    /** YaRN (Peng et al. 2023, section 3.2): blend interpolated and extrapolated frequencies by a linear ramp. */
    private static RotaryFrequencies yarn(RopeConfig r, int dim) {
        double base = r.ropeTheta();
        double factor = r.factor();
        double scaling = Double.isNaN(r.attentionFactor()) ? (factor <= 1 ? 1.0 : 0.1 * Math.log(factor) + 1.0) : r.attentionFactor();
        int maxPos = r.originalMaxPositionEmbeddings();
        double low = Math.floor(correctionDim(r.betaFast(), dim, base, maxPos));
        double high = Math.ceil(correctionDim(r.betaSlow(), dim, base, maxPos));
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001; // avoid a zero-width ramp
        }
        int half = dim / 2;
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            float posFreq = (float) Math.pow(base, (float) (2 * i) / (float) dim);
            float extrapolation = 1f / posFreq;
            float interpolation = (float) (1.0 / (factor * posFreq));
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            float extrapolationFactor = (float) (1 - ramp);
            out[i] = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return new RotaryFrequencies(out, (float) scaling);
    }

    private static double correctionDim(double rotations, int dim, double base, int maxPos) {
        return (dim * Math.log(maxPos / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
    }
}
