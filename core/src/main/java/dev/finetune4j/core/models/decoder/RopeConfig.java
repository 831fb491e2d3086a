package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * Rotary embedding parameters as Hugging Face configs give them, either top-level ({@code rope_theta},
 * {@code rope_scaling}) or in the newer {@code rope_parameters} object, which Gemma 3 keys by layer type
 * ({@code full_attention}, {@code sliding_attention}).
 *
 * @param ropeTheta                     base of the frequencies
 * @param ropeType                      default, linear, llama3, yarn, longrope, or dynamic with an {@code alpha}
 * @param factor                        context extension factor (linear, llama3, yarn; longrope: the ratio of
 *                                      {@code max_position_embeddings} to the original, for its attention factor)
 * @param lowFreqFactor                 llama3
 * @param highFreqFactor                llama3
 * @param originalMaxPositionEmbeddings llama3, yarn; longrope's switch from the short to the long factors
 * @param betaFast                      yarn (default 32)
 * @param betaSlow                      yarn (default 1)
 * @param truncate                      yarn: whether the ramp's ends are rounded to whole dimensions (default true;
 *                                      gpt-oss: false)
 * @param attentionFactor               yarn's and longrope's cos/sin scale; NaN means the type's formula
 * @param shortFactor                   longrope's divisors of the frequencies up to the original length, one
 *                                      per rotated pair; empty otherwise
 * @param longFactor                    longrope's divisors beyond it; empty otherwise
 * @param alpha                         Hunyuan's NTK factor of "dynamic": the base becomes
 *                                      {@code theta * alpha^(d / (d - 2))} for heads of d; NaN for other types
 * @param mscaleAllDim                  DeepSeek's {@code mscale_all_dim}, whose magnitude squared scales its
 *                                      attention's softmax under a scaled rotary ({@link #softmaxScaleFactor}); 0 when
 *                                      unset
 * @param rotatedFraction               Gemma 4's "proportional" type: the fraction of a head's pairs that turn
 *                                      ({@code partial_rotary_factor} in its layer type's settings); 1 for other types
 */
public record RopeConfig(double ropeTheta, String ropeType, double factor, double lowFreqFactor, double highFreqFactor,
                         int originalMaxPositionEmbeddings, double betaFast, double betaSlow, boolean truncate,
                         double attentionFactor,
                         double[] shortFactor, double[] longFactor, double alpha, double mscaleAllDim,
                         double rotatedFraction) {

    /**
     * Reads the rotary settings of a config.json (both layouts), refusing values that would make every logit NaN
     * or silently change the model: a non-numeric, non-finite or out-of-range number, or a {@code rope_scaling}
     * that is not an object.
     *
     * @param config the parsed config.json
     * @param maxPositionEmbeddings the model's longest sequence, for scalings that need it
     * @return the rotary settings
     * @throws IllegalArgumentException naming the config.json key, its value and the accepted range
     */
    public static RopeConfig fromJson(JsonNode config, int maxPositionEmbeddings) {
        return fromJson(config, maxPositionEmbeddings, "full_attention");
    }

    /**
     * The rotary settings of one layer type: Gemma 3's {@code rope_parameters} hold one object per layer type;
     * other configs one for every layer.
     *
     * @param config the parsed config.json
     * @param maxPositionEmbeddings the model's longest sequence, for scalings that need it
     * @param layerType {@code full_attention} or {@code sliding_attention}
     * @return the rotary settings
     * @throws IllegalArgumentException naming the config.json key, its value and the accepted range
     */
    public static RopeConfig fromJson(JsonNode config, int maxPositionEmbeddings, String layerType) {
        JsonNode params = JsonFields.object(config, "rope_parameters", "config.json");
        String at = params.isObject() ? "config.json rope_parameters" : "config.json rope_scaling";
        if (params.has("full_attention") || params.has("sliding_attention")) {
            at += "." + layerType;
            params = JsonFields.object(params, layerType, at);
            if (params.isMissingNode()) {
                throw new IllegalArgumentException(at + " is missing: rope_parameters is keyed by layer type, and "
                        + "a layer of type " + layerType + " needs its settings");
            }
        }
        JsonNode scaling = params.isObject() ? params : JsonFields.object(config, "rope_scaling", "config.json");
        // theta <= 1 gives frequencies of 1 or more per position (or NaN): no positional signal at all
        double theta = params.has("rope_theta")
                ? JsonFields.number(params, "rope_theta", 10000.0, v -> v > 1, "> 1", at)
                : JsonFields.number(config, "rope_theta", 10000.0, v -> v > 1, "> 1", "config.json");
        String type = scaling.isObject() ? scaling.path("rope_type").asText(scaling.path("type").asText("default")) : "default";
        double lowFreq = JsonFields.number(scaling, "low_freq_factor", 1.0, v -> v > 0, "> 0", at);
        double highFreq = JsonFields.number(scaling, "high_freq_factor", 4.0, v -> v > 0, "> 0", at);
        if (type.equals("llama3") && !(lowFreq < highFreq)) {
            // llama3 divides by high_freq_factor - low_freq_factor when smoothing between the two bands
            throw new IllegalArgumentException(at + ": 'low_freq_factor' = " + lowFreq + " must be less than "
                    + "'high_freq_factor' = " + highFreq + " for rope_type llama3");
        }
        // Phi-3 keeps the pretrained length top-level, beside a max_position_embeddings it extended
        int topLevelOriginal = JsonFields.integer(config, "original_max_position_embeddings", maxPositionEmbeddings, 1,
                ConfigLimits.POSITIONS, "config.json");
        int original = type.equals("longrope") && config.hasNonNull("original_max_position_embeddings")
                ? topLevelOriginal // transformers copies Phi-3's top-level value over rope_parameters'
                : JsonFields.integer(scaling, "original_max_position_embeddings", topLevelOriginal, 1,
                        ConfigLimits.POSITIONS, at);
        // transformers only warns below 1 (a linear factor under 1 compresses positions), so it loads here too;
        // longrope without one scales attention by the ratio of the extended to the pretrained length
        double factor = JsonFields.number(scaling, "factor",
                type.equals("longrope") ? (double) maxPositionEmbeddings / original : 1.0, v -> v > 0, "> 0", at);
        double mscaleAllDim = JsonFields.number(scaling, "mscale_all_dim", 0.0, v -> v >= 0, ">= 0", at);
        RopeConfig rope = new RopeConfig(theta, type, factor, lowFreq, highFreq, original,
                JsonFields.number(scaling, "beta_fast", 32.0, v -> v > 0, "> 0", at),
                JsonFields.number(scaling, "beta_slow", 1.0, v -> v > 0, "> 0", at),
                JsonFields.bool(scaling, "truncate", true, at),
                type.equals("yarn") ? yarnAttentionFactor(scaling, factor, mscaleAllDim, at)
                        : JsonFields.number(scaling, "attention_factor", Double.NaN, v -> v > 0, "> 0", at),
                factors(scaling, "short_factor", type, at),
                factors(scaling, "long_factor", type, at),
                type.equals("dynamic") ? JsonFields.number(scaling, "alpha", Double.NaN, v -> v > 0, "> 0", at)
                        : Double.NaN,
                mscaleAllDim,
                type.equals("proportional") ? JsonFields.number(scaling, "partial_rotary_factor", 1.0,
                        v -> v >= 0 && v <= 1, "in [0, 1]", at) : 1.0);
        rope.validate(at);
        return rope;
    }

    /**
     * YaRN's cos/sin scale: {@code attention_factor} where given; else, with DeepSeek's {@code mscale} and
     * {@code mscale_all_dim} both set (non-zero), the ratio of their {@link #yarnMscale}s, as transformers computes it;
     * else NaN, the paper's {@code 0.1 ln(factor) + 1}.
     */
    private static double yarnAttentionFactor(JsonNode scaling, double factor, double mscaleAllDim, String at) {
        double given = JsonFields.number(scaling, "attention_factor", Double.NaN, v -> v > 0, "> 0", at);
        double mscale = JsonFields.number(scaling, "mscale", 0.0, v -> v >= 0, ">= 0", at);
        return !Double.isNaN(given) || mscale == 0 || mscaleAllDim == 0 ? given
                : yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
    }

    /**
     * DeepSeek's YaRN magnitude, {@code 0.1 mscale ln(factor) + 1} for a factor above 1, else 1 (transformers'
     * {@code get_mscale} and {@code yarn_get_mscale}).
     *
     * @param factor the context extension factor
     * @param mscale the multiplier of its logarithm
     * @return the magnitude
     */
    private static double yarnMscale(double factor, double mscale) {
        return factor <= 1 ? 1.0 : 0.1 * mscale * Math.log(factor) + 1.0;
    }

    /**
     * What DeepSeek's attention multiplies its softmax scale by (transformers' {@code yarn_apply_mscale}): the YaRN
     * magnitude of {@link #mscaleAllDim} squared under a scaled rotary embedding, else 1.
     *
     * @return the factor
     */
    public double softmaxScaleFactor() {
        if (ropeType.equals("default") || mscaleAllDim == 0) {
            return 1.0;
        }
        double mscale = yarnMscale(factor, mscaleAllDim);
        return mscale * mscale;
    }

    /** A longrope factor list: positive finite numbers, one per rotated pair (checked against the head later). */
    private static double[] factors(JsonNode scaling, String field, String type, String at) {
        if (!type.equals("longrope")) {
            return new double[0];
        }
        JsonNode list = scaling.path(field);
        if (!list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException(at + ": rope_type longrope needs '" + field + "', a list of positive "
                    + "numbers (one per rotated pair of dimensions), got " + list);
        }
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode n = list.get(i);
            if (!n.isNumber() || !Double.isFinite(n.doubleValue()) || n.doubleValue() <= 0) {
                throw new IllegalArgumentException(at + ": '" + field + "'[" + i + "] = " + n
                        + " must be a finite number > 0");
            }
            out[i] = n.doubleValue();
        }
        return out;
    }

    private void validate(String at) {
        switch (ropeType) {
            case "default", "linear", "llama3", "yarn", "proportional" -> {
            }
            case "dynamic" -> {
                if (Double.isNaN(alpha)) {
                    throw new IllegalArgumentException(at + ": rope_type dynamic without 'alpha' (NTK scaling that "
                            + "follows the sequence length) is not supported; Hunyuan's dynamic type with an 'alpha' "
                            + "(a fixed base) is");
                }
            }
            case "longrope" -> {
                if (shortFactor.length != longFactor.length) {
                    throw new IllegalArgumentException(at + ": longrope's 'short_factor' has " + shortFactor.length
                            + " entries and 'long_factor' " + longFactor.length + "; both need one per rotated pair");
                }
            }
            default -> throw new IllegalArgumentException("unsupported rope_type '" + ropeType
                    + "'; supported: default, linear, llama3, yarn, longrope, dynamic with alpha (Hunyuan), proportional (Gemma 4)");
        }
    }
}
