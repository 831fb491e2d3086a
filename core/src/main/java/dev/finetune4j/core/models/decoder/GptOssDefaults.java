package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * transformers' {@code GptOssConfig} defaults where they differ from the decoder family's: a gpt-oss config.json
 * that leaves a field out means these values, as it does in Python.
 */
final class GptOssDefaults {
    private GptOssDefaults() {
    }

    /**
     * A copy of {@code config} with gpt-oss's defaults filled in for the fields it lacks: 128 experts of which 4 per
     * token, head size 64, 131,072 positions, q/k/v/o biases, RMSNorm epsilon 1e-5, a 128-token sliding window on
     * every other layer (the first slides), and YaRN rotary (factor 32 over 4,096 positions, ramp ends not
     * rounded) with theta 150,000.
     *
     * @param config a parsed config.json of {@code model_type} gpt_oss
     * @return the config with the defaults filled in; {@code config} itself is left unchanged
     */
    static JsonNode fill(JsonNode config) {
        ObjectNode c = config.deepCopy();
        if (!c.has("num_local_experts") && !c.has("num_experts")) {
            c.put("num_local_experts", 128);
        }
        putIfAbsent(c, "num_experts_per_tok", 4);
        putIfAbsent(c, "head_dim", 64);
        putIfAbsent(c, "max_position_embeddings", 131072);
        putIfAbsent(c, "sliding_window", 128);
        if (!c.has("attention_bias")) {
            c.put("attention_bias", true);
        }
        if (!c.has("rms_norm_eps")) {
            c.put("rms_norm_eps", 1e-5);
        }
        if (!c.has("rope_parameters") && !c.has("rope_scaling")) {
            ObjectNode rope = c.putObject("rope_parameters");
            rope.put("rope_type", "yarn").put("factor", 32.0).put("beta_fast", 32.0).put("beta_slow", 1.0)
                    .put("truncate", false).put("original_max_position_embeddings", 4096);
        }
        if (!c.has("rope_theta") && !c.path("rope_parameters").has("rope_theta")) {
            c.put("rope_theta", 150000.0);
        }
        return c;
    }

    private static void putIfAbsent(ObjectNode c, String field, int value) {
        if (!c.has(field)) {
            c.put(field, value);
        }
    }
}
