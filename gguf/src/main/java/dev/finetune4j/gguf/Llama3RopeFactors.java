package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.RopeConfig;

/**
 * Llama 3's rope scaling as llama.cpp takes it: one divisor per rotated pair of dimensions, the
 * {@code rope_freqs.weight} tensor, which llama.cpp divides each frequency by. Pairs of short wavelength (below
 * {@code original_max_position_embeddings / high_freq_factor}) keep their frequency (1), those of long wavelength
 * (above {@code original / low_freq_factor}) are divided by {@code factor}, and those between are blended; the
 * same rule as transformers' {@code _compute_llama3_parameters}, with the frequencies in float32 as the converter
 * computes them.
 */
final class Llama3RopeFactors {
    private Llama3RopeFactors() {
    }

    /** The {@code dim / 2} divisors of a head of {@code dim} rotated dimensions. */
    static float[] of(RopeConfig rope, int dim) {
        double lowWavelength = rope.originalMaxPositionEmbeddings() / rope.lowFreqFactor();
        double highWavelength = rope.originalMaxPositionEmbeddings() / rope.highFreqFactor();
        float[] factors = new float[dim / 2];
        for (int i = 0; i < factors.length; i++) {
            float exponent = (float) (2 * i) / dim;
            float freq = 1f / (float) Math.pow(rope.ropeTheta(), exponent);
            double wavelength = 2 * Math.PI / freq;
            if (wavelength < highWavelength) {
                factors[i] = 1f;
            } else if (wavelength > lowWavelength) {
                factors[i] = (float) rope.factor();
            } else {
                double smooth = (rope.originalMaxPositionEmbeddings() / wavelength - rope.lowFreqFactor())
                        / (rope.highFreqFactor() - rope.lowFreqFactor());
                factors[i] = (float) (1 / ((1 - smooth) / rope.factor() + smooth));
            }
        }
        return factors;
    }
}
