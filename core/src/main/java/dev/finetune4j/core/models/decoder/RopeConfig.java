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
     * Reads the rotary settings of a config.json (both layouts).
     *
     * @param config the parsed config.json
     * @param maxPositionEmbeddings the model's longest sequence, for scalings that need it
     * @return the rotary settings
     */
    public static RopeConfig fromJson(JsonNode config, int maxPositionEmbeddings) {
        JsonNode params = config.path("rope_parameters");
        JsonNode scaling = params.isObject() ? params : config.path("rope_scaling");
        double theta = params.has("rope_theta") ? params.get("rope_theta").asDouble() : config.path("rope_theta").asDouble(10000.0);
        String type = scaling.isObject() ? scaling.path("rope_type").asText(scaling.path("type").asText("default")) : "default";
        RopeConfig rope = new RopeConfig(theta, type,
                scaling.path("factor").asDouble(1.0),
                scaling.path("low_freq_factor").asDouble(1.0),
                scaling.path("high_freq_factor").asDouble(4.0),
                JsonFields.integer(scaling, "original_max_position_embeddings", maxPositionEmbeddings, 1,
                        ConfigLimits.POSITIONS, "config.json rope_scaling"),
                scaling.path("beta_fast").asDouble(32.0),
                scaling.path("beta_slow").asDouble(1.0),
                scaling.has("attention_factor") && !scaling.get("attention_factor").isNull()
                        ? scaling.get("attention_factor").asDouble() : Double.NaN);
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
        if (factor <= 0) {
            throw new IllegalArgumentException("rope scaling factor must be positive, got " + factor);
        }
    }
}
