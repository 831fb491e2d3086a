package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * Rotary embedding parameters as Hugging Face configs give them, either top-level ({@code rope_theta},
 * {@code rope_scaling}) or in the newer {@code rope_parameters} object.
 *
 * @param ropeTheta                     base of the frequencies
 * @param ropeType                      default, linear, llama3 or yarn
 * @param factor                        context extension factor (linear, llama3, yarn)
 * @param lowFreqFactor                 llama3
 * @param highFreqFactor                llama3
 * @param originalMaxPositionEmbeddings llama3, yarn
 * @param betaFast                      yarn (default 32)
 * @param betaSlow                      yarn (default 1)
 * @param attentionFactor               yarn's cos/sin scale; NaN means 0.1 ln(factor) + 1
 */
public record RopeConfig(double ropeTheta, String ropeType, double factor, double lowFreqFactor, double highFreqFactor,
                         int originalMaxPositionEmbeddings, double betaFast, double betaSlow, double attentionFactor) {

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
        JsonNode params = JsonFields.object(config, "rope_parameters", "config.json");
        JsonNode scaling = params.isObject() ? params : JsonFields.object(config, "rope_scaling", "config.json");
        String at = params.isObject() ? "config.json rope_parameters" : "config.json rope_scaling";
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
        RopeConfig rope = new RopeConfig(theta, type,
                // transformers only warns below 1 (a linear factor under 1 compresses positions), so it loads here too
                JsonFields.number(scaling, "factor", 1.0, v -> v > 0, "> 0", at),
                lowFreq,
                highFreq,
                JsonFields.integer(scaling, "original_max_position_embeddings", maxPositionEmbeddings, 1,
                        ConfigLimits.POSITIONS, at),
                JsonFields.number(scaling, "beta_fast", 32.0, v -> v > 0, "> 0", at),
                JsonFields.number(scaling, "beta_slow", 1.0, v -> v > 0, "> 0", at),
                JsonFields.number(scaling, "attention_factor", Double.NaN, v -> v > 0, "> 0", at));
        rope.validate();
        return rope;
    }

    private void validate() {
        switch (ropeType) {
            case "default", "linear", "llama3", "yarn" -> {
            }
            default -> throw new IllegalArgumentException("unsupported rope_type '" + ropeType
                    + "'; supported: default, linear, llama3, yarn");
        }
    }
}
