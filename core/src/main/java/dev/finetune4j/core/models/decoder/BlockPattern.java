package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.Arrays;
import java.util.List;

/**
 * The layers of NVIDIA's Nemotron-H ({@code nemotron_h}: Nemotron-H 4B to 56B, Nemotron Nano 9B/12B v2, Nemotron 3
 * Nano 30B-A3B), each ONE block after its own RMSNorm, {@code x + mixer(norm(x))}: a Mamba-2 mixer, self-attention,
 * an MLP or a mixture of experts, as {@code layers_block_type} (transformers 5) or the older
 * {@code hybrid_override_pattern} string lists them.
 *
 * @param kinds per layer, its block
 */
public record BlockPattern(Kind[] kinds) {
    /** The {@code model_type} of Nemotron-H. */
    public static final String MODEL_TYPE = "nemotron_h";

    /** What a layer's {@code mixer} is. */
    public enum Kind {
        /** A Mamba-2 mixer ({@code linear_attention}, "M"; older configs {@code mamba}). */
        MAMBA,
        /** Self-attention without position encoding ({@code full_attention}, "*"; older configs {@code attention}). */
        ATTENTION,
        /** An MLP without a gate ({@code mlp}, "-"). */
        MLP,
        /** A mixture of experts beside a shared expert ({@code moe}, "E"). */
        MOE;

        /**
         * Whether the block mixes tokens (and so reads the pass's context and may keep a generation's state).
         *
         * @return true for Mamba-2 and attention blocks
         */
        public boolean mixesTokens() {
            return this == MAMBA || this == ATTENTION;
        }
    }

    /** Copies the kinds. */
    public BlockPattern {
        kinds = kinds.clone();
    }

    /**
     * The kind of layer {@code layer}.
     *
     * @param layer the layer's index
     * @return its block
     */
    public Kind kind(int layer) {
        return kinds[layer];
    }

    /**
     * Per layer, whether its block is {@code kind}.
     *
     * @param kind the block
     * @return one flag per layer
     */
    public boolean[] layersOf(Kind kind) {
        boolean[] flags = new boolean[kinds.length];
        for (int i = 0; i < kinds.length; i++) {
            flags[i] = kinds[i] == kind;
        }
        return flags;
    }

    /**
     * Whether some layer's block is {@code kind}.
     *
     * @param kind the block
     * @return true when at least one layer has it
     */
    public boolean has(Kind kind) {
        return Arrays.asList(kinds).contains(kind);
    }

    /**
     * The layers a config.json lists: {@code layers_block_type} where it is a list, else the characters of
     * {@code hybrid_override_pattern}; transformers' default pattern (Mamba-2, mixture, attention, MLP) without either.
     *
     * @param c the parsed config.json
     * @return the pattern
     * @throws IllegalArgumentException naming the entry that is no known block
     */
    static BlockPattern fromJson(JsonNode c) {
        String at = "config.json";
        // transformers reads layer_types as another name of layers_block_type
        JsonNode list = c.has("layers_block_type") ? c.path("layers_block_type") : c.path("layer_types");
        if (list.isArray()) {
            Kind[] kinds = new Kind[list.size()];
            for (int i = 0; i < kinds.length; i++) {
                kinds[i] = switch (list.get(i).asText()) {
                    case "linear_attention", "mamba" -> Kind.MAMBA;
                    case "full_attention", "attention" -> Kind.ATTENTION;
                    case "mlp" -> Kind.MLP;
                    case "moe" -> Kind.MOE;
                    default -> throw new IllegalArgumentException(at + ": 'layers_block_type'[" + i + "] = "
                            + list.get(i) + " is not one of \"" + String.join("\", \"", NAMES) + "\"");
                };
            }
            return requireLayers(kinds, "layers_block_type");
        }
        if (c.hasNonNull("hybrid_override_pattern")) {
            String pattern = c.get("hybrid_override_pattern").asText();
            Kind[] kinds = new Kind[pattern.length()];
            for (int i = 0; i < kinds.length; i++) {
                kinds[i] = switch (pattern.charAt(i)) {
                    case 'M' -> Kind.MAMBA;
                    case '*' -> Kind.ATTENTION;
                    case '-' -> Kind.MLP;
                    case 'E' -> Kind.MOE;
                    default -> throw new IllegalArgumentException(at + ": hybrid_override_pattern \"" + pattern
                            + "\" holds '" + pattern.charAt(i) + "' at " + i + ": each layer must be M (Mamba-2), * "
                            + "(attention), - (MLP) or E (mixture of experts)");
                };
            }
            return requireLayers(kinds, "hybrid_override_pattern");
        }
        return new BlockPattern(new Kind[]{Kind.MAMBA, Kind.MOE, Kind.ATTENTION, Kind.MLP});
    }

    /**
     * What Nemotron-H configs may set that finetune4j does not implement: a tied head (transformers' class never ties
     * it) and the mixture's latent projections ({@code moe_latent_size}).
     *
     * @param c the parsed config.json
     * @throws IllegalArgumentException naming the key, its value and what to load instead
     */
    static void refuseUnsupported(JsonNode c) {
        String at = "config.json";
        if (JsonFields.bool(c, "tie_word_embeddings", false, at)) {
            throw new IllegalArgumentException(at + ": tie_word_embeddings = true is not supported for nemotron_h: "
                    + "transformers' NemotronHForCausalLM never ties lm_head to the embeddings, so the checkpoint must "
                    + "store lm_head.weight; set tie_word_embeddings to false (as every published Nemotron-H config)");
        }
        if (c.hasNonNull("moe_latent_size")) {
            throw new IllegalArgumentException(at + ": moe_latent_size = " + c.get("moe_latent_size") + " is not "
                    + "supported: finetune4j's Nemotron-H experts read the hidden states as they are, without the "
                    + "fc1_latent_proj/fc2_latent_proj projections; load a checkpoint whose moe_latent_size is null");
        }
    }

    /** The names {@code layers_block_type} may hold. */
    private static final List<String> NAMES = List.of("linear_attention", "full_attention", "mlp", "moe", "mamba",
            "attention");

    private static BlockPattern requireLayers(Kind[] kinds, String field) {
        if (kinds.length == 0 || kinds.length > ConfigLimits.LAYERS) {
            throw new IllegalArgumentException("config.json: " + field + " lists " + kinds.length + " layers; it must "
                    + "list one entry per layer, between 1 and " + ConfigLimits.LAYERS);
        }
        return new BlockPattern(kinds);
    }
}
