package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * The sizes of DeepSeek-V3's multi-head latent attention ({@link LatentAttention}): queries through a low-rank
 * bottleneck of {@code q_lora_rank} (or a plain {@code q_proj} without one), keys and values expanded per head from a
 * shared latent of {@code kv_lora_rank}, each query and key head {@code qk_nope_head_dim} dimensions without position
 * then {@code qk_rope_head_dim} rotated ones (one rotated key shared by all heads), each value head
 * {@code v_head_dim}.
 *
 * @param qLoraRank the queries' bottleneck ({@code q_lora_rank}); 0 for a plain {@code q_proj} (Moonlight,
 *                  DeepSeek-V2-Lite)
 * @param kvLoraRank the keys' and values' latent ({@code kv_lora_rank})
 * @param qkNopeHeadDim a query or key head's dimensions without rotary ({@code qk_nope_head_dim})
 * @param qkRopeHeadDim a query or key head's rotated dimensions ({@code qk_rope_head_dim})
 * @param vHeadDim a value head's dimensions ({@code v_head_dim})
 */
public record LatentAttentionConfig(int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim) {
    /** The {@code model_type} of DeepSeek-V3, DeepSeek-R1, Kimi-K2 and Moonlight. */
    public static final String MODEL_TYPE = "deepseek_v3";
    /** The {@code model_type} of DeepSeek-V2, V2.5, V2-Lite and DeepSeek-Coder-V2. */
    public static final String V2_MODEL_TYPE = "deepseek_v2";
    /**
     * The {@code model_type} of Mistral Small 4's language model: this attention with Llama 4's query temperature on
     * whole query heads ({@link QueryTemperature}), a grouped softmax router.
     */
    public static final String MISTRAL4_MODEL_TYPE = "mistral4";

    /**
     * Whether a {@code model_type} attends by latent attention.
     *
     * @param modelType a config.json's {@code model_type}
     * @return true for DeepSeek-V2, DeepSeek-V3 and Mistral 4
     */
    public static boolean appliesTo(String modelType) {
        return modelType.equals(MODEL_TYPE) || modelType.equals(V2_MODEL_TYPE) || modelType.equals(MISTRAL4_MODEL_TYPE);
    }

    /**
     * A query or key head's dimensions, rotated and not.
     *
     * @return {@code qk_nope_head_dim + qk_rope_head_dim}
     */
    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /**
     * The width of a head as the attention kernels and the KV cache hold it: the larger of a query/key head and a value
     * head, the other padded with zeros (which change no score and no output).
     *
     * @return {@code max(qkHeadDim, vHeadDim)}
     */
    public int paddedHeadDim() {
        return Math.max(qkHeadDim(), vHeadDim);
    }

    /**
     * Reads the sizes with {@code DeepseekV3Config}'s defaults.
     *
     * @param c the parsed config.json
     * @return the sizes
     */
    static LatentAttentionConfig fromJson(JsonNode c) {
        String at = "config.json";
        int qLora = c.path("q_lora_rank").isNull() ? 0
                : JsonFields.integer(c, "q_lora_rank", 1536, 1, ConfigLimits.HIDDEN, at);
        return new LatentAttentionConfig(qLora,
                JsonFields.integer(c, "kv_lora_rank", 512, 1, ConfigLimits.HIDDEN, at),
                JsonFields.integer(c, "qk_nope_head_dim", 128, 1, ConfigLimits.HIDDEN, at),
                JsonFields.integer(c, "qk_rope_head_dim", 64, 2, ConfigLimits.HIDDEN, at),
                JsonFields.integer(c, "v_head_dim", 128, 1, ConfigLimits.HIDDEN, at));
    }

    /**
     * What Mistral 4's rotary must be for transformers' {@code Mistral4RotaryEmbedding} to rotate the
     * {@code qk_rope_head_dim} dimensions this attention rotates: its table spans {@code int(head_dim *
     * partial_rotary_factor)} dimensions of a head of {@code qk_nope_head_dim + qk_rope_head_dim} (the default rope
     * ignores the factor: its table spans the whole head, and transformers' forward fails), and the temperature's
     * {@link RotaryFrequencies#unrotatedQueries} scale the no-rope dimensions in pairs.
     *
     * @param c the config.json, the family's defaults filled in
     * @param rope its rotary settings
     * @param tempered whether the queries carry the temperature (a {@code llama_4_scaling_beta} above 0)
     * @throws IllegalArgumentException naming the field, its value and what to set
     */
    void requireMistral4Rotary(JsonNode c, RopeConfig rope, boolean tempered) {
        String at = "config.json rope_parameters";
        if (rope.ropeType().equals("default")) {
            throw new IllegalArgumentException(at + ": rope_type 'default' is not supported for mistral4: transformers' "
                    + "Mistral4RotaryEmbedding then builds its table over all qk_nope_head_dim + qk_rope_head_dim = "
                    + qkHeadDim() + " dimensions of a head and fails to rotate the " + qkRopeHeadDim + " it should; "
                    + "set the checkpoint's YaRN (Mistral Small 4: rope_type yarn, factor 128)");
        }
        JsonNode params = JsonFields.object(c, "rope_parameters", "config.json");
        double partial = JsonFields.number(params, "partial_rotary_factor", (double) qkRopeHeadDim / qkHeadDim(),
                v -> v > 0 && v <= 1, "in (0, 1]", at);
        if ((int) (qkHeadDim() * partial) != qkRopeHeadDim) {
            throw new IllegalArgumentException(at + ": partial_rotary_factor = " + partial + " rotates "
                    + (int) (qkHeadDim() * partial) + " of a head's " + qkHeadDim() + " dimensions, not its "
                    + "qk_rope_head_dim = " + qkRopeHeadDim + ": remove it (transformers then sets qk_rope_head_dim / "
                    + "(qk_nope_head_dim + qk_rope_head_dim))");
        }
        if (tempered && qkNopeHeadDim % 2 != 0) {
            throw new IllegalArgumentException("config.json: qk_nope_head_dim = " + qkNopeHeadDim + " is odd: "
                    + "finetune4j applies Mistral 4's query temperature to the no-rope dimensions in pairs, so it "
                    + "needs an even count (Mistral Small 4 has 64)");
        }
    }

    /**
     * DeepSeek-V3's key/value heads: every query head gets its own, expanded from the shared latent, so a config must
     * name as many as there are query heads (transformers' attention would otherwise repeat the expanded heads).
     */
    static int keyValueHeads(JsonNode c, int heads) {
        int kv = JsonFields.integer(c, "num_key_value_heads", heads, 1, ConfigLimits.HEADS, "config.json");
        if (kv != heads) {
            throw new IllegalArgumentException("config.json: num_key_value_heads = " + kv + " with "
                    + "num_attention_heads = " + heads + ": DeepSeek-V3's latent attention expands a key and a value for "
                    + "every query head, so both must be equal (the published checkpoints set both to the same value)");
        }
        return kv;
    }

    /**
     * The matrix parameters of one layer's attention.
     *
     * @param hidden the hidden size
     * @param heads the attention heads
     * @return their count
     */
    long parameterCount(long hidden, long heads) {
        long queries = qLoraRank > 0 ? hidden * qLoraRank + qLoraRank * heads * qkHeadDim() : hidden * heads * qkHeadDim();
        return queries + hidden * (kvLoraRank + qkRopeHeadDim) + kvLoraRank * heads * (qkNopeHeadDim + vHeadDim)
                + heads * vHeadDim * hidden;
    }
}
