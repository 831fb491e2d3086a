package dev.finetune4j.gguf;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The type of each weight matrix in llama.cpp's K-quant and I-quant files, as its {@code llama-quantize} chooses it
 * without user overrides ({@code llama_tensor_get_type} in src/llama-quant.cpp, for dense models): a file type's base
 * type (Q4_K for Q4_K_M), Q6_K for the output head (the token embedding when it is the head, and then Gemma 4's
 * per-layer token table too); in Q4_K_M and Q5_K_M, Q6_K for the value projections and the MLP's down projections of
 * the layers {@link #useMoreBits} picks (without experts, the down projections counted as llama-quantize meets them, so
 * that in Nemotron-H only its MLP layers count); in Q3_K_M and
 * Q3_K_L, more bits for the value, attention output and down projections (see {@link GgufType}); Q5_K for
 * Llama-2/3 70B's value projections where they would be Q3_K or Q4_K. A matrix whose rows are not whole super-blocks
 * of 256 falls back to a 32-value type (Q3_K to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K and the head to Q8_0), and to
 * F16 when not whole blocks of 32 either. A mixture of experts' router ({@code ffn_gate_inp}) stays float32 (see
 * {@link GgufType#storageOf}); its stacked experts ({@code ffn_*_exps}) take the rules of their dense counterparts,
 * the layer read from the name; a model of exactly 8 experts (llama.cpp's Mixtral rules) stores its key and value
 * projections in Q8_0 and, in Q3_K_S, Q3_K_M and Q4_K_M, its attention outputs in Q5_K. The value projections are
 * counted as llama-quantize meets them, so that in Granite 4.0 H only its attention layers count; its Mamba-2
 * projections ({@code ssm_in}, {@code ssm_out}) take the base type. In Qwen3.5 and Qwen3-Next the DeltaNet layers'
 * {@code attn_qkv} counts as a value projection beside the attention layers' {@code attn_v}. DeepSeek's latent attention
 * has none: its {@code attn_k_b}, {@code attn_v_b} and query and latent projections take the base type (rows of one
 * head's key dimensions falling back to a 32-value type), and its down projections choose by their layer. Gemma 4's
 * value projections are only its layers' that have one (not the kv-shared layers, nor the full layers whose values are
 * their keys), and its {@code per_layer_model_proj} stays float32, as llama-quantize keeps it. IQ4_NL and IQ4_XS
 * (their head Q6_K as the K mixes') take Q5_K for the value projections of a model of 4 or more query heads per key
 * head and, only without an importance matrix, for the down projections of the first eighth of the layers; with 8
 * experts their attention outputs take Q5_K too. IQ3_S takes Q4_K for the value projections of such a model (Q5_K
 * in Llama-2/3 70B) and, with 8 experts, Q5_K for the attention outputs. IQ3_S and IQ4_XS rows that are not whole
 * super-blocks fall back to IQ4_NL.
 */
final class KQuantMix {
    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d+)\\.");
    /** The token tables llama.cpp quantizes as the head when the file has no {@code output.weight}. */
    private static final Set<String> TOKEN_TABLES = Set.of("token_embd.weight", "per_layer_token_embd.weight");
    /** Gemma 4's projection into the per-layer inputs, which llama-quantize leaves as the float32 export holds it. */
    private static final String PER_LAYER_MODEL_PROJ = "per_layer_model_proj.weight";
    /** The expert count llama.cpp's mixes single out (Mixtral 8x7B, 8x22B). */
    private static final int EIGHT_EXPERTS = 8;

    private KQuantMix() {
    }

    /** The storage of matrix {@code name} (ggml dimensions {@code dims}) in a {@code type} file of {@code layout}. */
    static GgmlType choose(GgufType type, String name, long[] dims, ModelLayout layout) {
        if (name.equals(PER_LAYER_MODEL_PROJ)) {
            return GgmlType.F32;
        }
        GgmlType chosen = type.matrixType();
        boolean moreBitsMix = type == GgufType.Q4_K_M || type == GgufType.Q5_K_M;
        boolean nonLinear = type == GgufType.IQ4_NL || type == GgufType.IQ4_XS;
        if (name.equals("output.weight") || layout.tiedEmbeddings() && TOKEN_TABLES.contains(name)) {
            // NOTE: llama.cpp asks whether the rows are whole blocks of the file's type, then falls back from Q6_K
            chosen = dims[0] % type.matrixType().blockSize() != 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
        } else if (name.contains("attn_v.weight") || name.contains("attn_qkv.weight")) {
            // NOTE: llama.cpp counts value projections in file order, one per layer that has one, in layer order
            int index = layout.valueIndex(layer(name));
            if (type == GgufType.Q3_K_M) {
                chosen = index < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
            } else if (type == GgufType.Q3_K_L) {
                chosen = GgmlType.Q5_K;
            } else if (moreBitsMix && useMoreBits(index, layout.valueLayers().size())) {
                chosen = GgmlType.Q6_K;
            } else if (nonLinear && layout.queryGroups() >= 4) {
                chosen = GgmlType.Q5_K;
            } else if (type == GgufType.IQ3_S && layout.queryGroups() >= 4) {
                chosen = GgmlType.Q4_K;
            }
            if (isLlama70B(layout) && (chosen == GgmlType.Q3_K || chosen == GgmlType.Q4_K)) {
                chosen = GgmlType.Q5_K;
            }
            if (layout.experts() == EIGHT_EXPERTS) {
                chosen = GgmlType.Q8_0;
            }
        } else if (name.contains("attn_k.weight") && layout.experts() == EIGHT_EXPERTS) {
            chosen = GgmlType.Q8_0;
        } else if (name.contains("ffn_down")) {
            // NOTE: without experts llama.cpp counts the down projections it meets, with experts it reads the layer
            int layer = layout.downIndex(layer(name));
            if (type == GgufType.Q3_K_M) {
                chosen = layer < layout.layers() / 16 ? GgmlType.Q5_K : GgmlType.Q4_K;
            } else if (type == GgufType.Q3_K_L) {
                chosen = GgmlType.Q5_K;
            } else if (moreBitsMix && useMoreBits(layer, layout.layers())) {
                chosen = GgmlType.Q6_K;
            } else if (nonLinear && !layout.importanceMatrix() && layer < layout.layers() / 8) {
                chosen = GgmlType.Q5_K;
            }
        } else if (name.contains("attn_output.weight")) {
            if (layout.experts() == EIGHT_EXPERTS) {
                // NOTE: Q3_K_L keeps its base type here, where a dense model's takes Q5_K
                boolean raised = type == GgufType.Q3_K_S || type == GgufType.Q3_K_M || type == GgufType.Q4_K_M
                        || type == GgufType.IQ3_S || nonLinear;
                chosen = raised ? GgmlType.Q5_K : chosen;
            } else if (type == GgufType.Q3_K_M) {
                chosen = GgmlType.Q4_K;
            } else if (type == GgufType.Q3_K_L) {
                chosen = GgmlType.Q5_K;
            }
        }
        return fallback(chosen, dims[0]);
    }

    /**
     * The layers that get more bits: the first and last eighth, and every third layer between them (llama.cpp's
     * {@code use_more_bits}).
     */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    private static GgmlType fallback(GgmlType chosen, long rowLength) {
        if (rowLength % chosen.blockSize() == 0) {
            return chosen;
        }
        GgmlType smaller = switch (chosen) {
            case Q3_K -> GgmlType.Q4_0;
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            case IQ3_S, IQ4_XS -> GgmlType.IQ4_NL;
            default -> chosen;
        };
        return rowLength % smaller.blockSize() == 0 ? smaller : GgmlType.F16;
    }

    /** llama.cpp's LLM_TYPE_70B, the one model size its choice depends on: a GQA llama of 80 layers. */
    private static boolean isLlama70B(ModelLayout layout) {
        return layout.architecture().equals("llama") && layout.layers() == 80 && layout.heads() != layout.kvHeads();
    }

    private static int layer(String name) {
        Matcher m = LAYER.matcher(name);
        if (!m.find()) {
            throw new IllegalArgumentException("tensor '" + name + "' names no layer (blk.N.)");
        }
        return Integer.parseInt(m.group(1));
    }
}
