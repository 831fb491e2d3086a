package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;

import java.util.Arrays;

/**
 * Falcon-H1's layers ({@code falcon_h1}): self-attention and a Mamba-2 mixer side by side on the same normed input,
 * their outputs scaled and summed into the residual stream, and the muP multipliers of the attention and the MLP, as
 * transformers' {@code FalconH1DecoderLayer}, {@code FalconH1Attention} and {@code FalconH1MLP} apply them:
 * {@code h = x + attention_out * attn(attention_in * norm(x)) + ssm_out * mamba(norm(x))} with keys times
 * {@code key_multiplier}, then {@code h + down * down_proj(up_proj(y) * silu(gate * gate_proj(y)))} of
 * {@code y = pre_ff_layernorm(h)}. The mixer's own multipliers ({@code ssm_in_multiplier}, {@code ssm_multipliers})
 * are {@link MambaConfig}'s, the embeddings' and the logits' {@link DecoderConfig.Multipliers}'.
 *
 * @param attentionIn the factor on the attention's input ({@code attention_in_multiplier})
 * @param attentionOut the factor on the attention's output ({@code attention_out_multiplier})
 * @param ssmOut the factor on the Mamba-2 mixer's output ({@code ssm_out_multiplier})
 * @param key the factor on the keys ({@code key_multiplier})
 * @param mlpGate the factor on the MLP's gate projection before the activation ({@code mlp_multipliers[0]})
 * @param mlpDown the factor on the MLP's output ({@code mlp_multipliers[1]})
 */
public record ParallelHybridConfig(float attentionIn, float attentionOut, float ssmOut, float key, float mlpGate,
                                   float mlpDown) {
    /** Falcon-H1's {@code model_type}. */
    public static final String MODEL_TYPE = "falcon_h1";

    /** Every factor 1: the layer of a family without them. */
    static final ParallelHybridConfig NONE = new ParallelHybridConfig(1f, 1f, 1f, 1f, 1f, 1f);

    /** Checks that every factor is a positive finite number. */
    public ParallelHybridConfig {
        require(attentionIn, "attention_in_multiplier");
        require(attentionOut, "attention_out_multiplier");
        require(ssmOut, "ssm_out_multiplier");
        require(key, "key_multiplier");
        require(mlpGate, "mlp_multipliers[0]");
        require(mlpDown, "mlp_multipliers[1]");
    }

    /**
     * Reads a {@code falcon_h1} config's layer multipliers (1 where absent or null, as {@code FalconH1Config}), after
     * refusing what finetune4j cannot honour.
     *
     * @param c the parsed config.json
     * @return the multipliers
     * @throws IllegalArgumentException for a multiplier that is not a positive finite number, or a variant refused
     */
    static ParallelHybridConfig fromJson(JsonNode c) {
        String at = "config.json";
        refuseUnsupported(c);
        float[] mlp = floats(c, "mlp_multipliers", 2);
        return new ParallelHybridConfig(
                (float) JsonFields.number(c, "attention_in_multiplier", 1.0, at),
                (float) JsonFields.number(c, "attention_out_multiplier", 1.0, at),
                (float) JsonFields.number(c, "ssm_out_multiplier", 1.0, at),
                (float) JsonFields.number(c, "key_multiplier", 1.0, at),
                mlp[0], mlp[1]);
    }

    /**
     * The list of {@code count} numbers {@code field}, all 1 where it is absent or null (FalconH1Config's default).
     *
     * @param c the parsed config.json
     * @param field the list's key
     * @param count how many numbers it must hold
     * @return the numbers
     * @throws IllegalArgumentException when it is not a list of {@code count} finite numbers
     */
    static float[] floats(JsonNode c, String field, int count) {
        JsonNode list = c.path(field);
        float[] values = new float[count];
        Arrays.fill(values, 1f);
        if (list.isMissingNode() || list.isNull()) {
            return values;
        }
        if (!list.isArray() || list.size() != count) {
            throw new IllegalArgumentException("config.json: '" + field + "' = " + list + " must be a list of " + count
                    + " numbers");
        }
        for (int i = 0; i < count; i++) {
            JsonNode n = list.get(i);
            if (!n.isNumber() || !Double.isFinite(n.doubleValue())) {
                throw new IllegalArgumentException("config.json: '" + field + "'[" + i + "] = " + n
                        + " must be a finite number");
            }
            values[i] = (float) n.doubleValue();
        }
        return values;
    }

    /**
     * Keys of the original Falcon-H1 code that transformers 5.17 reads no more but that would describe another model:
     * attention in some layers only, or layers without their MLP.
     */
    private static void refuseUnsupported(JsonNode c) {
        String at = "config.json";
        if (c.hasNonNull("attn_layer_indices")) {
            throw new IllegalArgumentException(at + ": attn_layer_indices = " + c.get("attn_layer_indices")
                    + " (attention in those layers only) is not supported: finetune4j, as transformers' FalconH1, runs "
                    + "attention beside the Mamba-2 mixer in every layer; the published Falcon-H1 configs set it to null");
        }
        if (!JsonFields.bool(c, "mamba_use_mlp", true, at)) {
            throw new IllegalArgumentException(at + ": mamba_use_mlp = false (layers without their MLP) is not "
                    + "supported: finetune4j, as transformers' FalconH1, gives every layer its feed_forward; the "
                    + "published Falcon-H1 configs set it to true");
        }
        if (!c.path("hidden_act").asText("silu").equals("silu")) {
            throw new IllegalArgumentException(at + ": hidden_act = " + c.get("hidden_act") + " is not supported for "
                    + MODEL_TYPE + ": its Mamba-2 convolution applies hidden_act, and finetune4j's applies SiLU, as every "
                    + "Falcon-H1 checkpoint does");
        }
    }

    private static void require(float value, String field) {
        if (!(value > 0 && Float.isFinite(value))) {
            throw new IllegalArgumentException("config.json: " + field + " = " + value
                    + " must be a positive finite number");
        }
    }
}
