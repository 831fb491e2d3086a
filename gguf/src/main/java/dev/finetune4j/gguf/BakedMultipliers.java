package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.MambaConfig;
import dev.finetune4j.core.models.decoder.ParallelHybridConfig;

import java.util.List;

/**
 * Falcon-H1's muP multipliers baked into its matrices, as convert_hf_to_gguf.py's {@code FalconH1Model} bakes them:
 * llama.cpp's {@code falcon-h1} graph multiplies by none of them. Each multiplier of a projection's input or output
 * becomes a factor of the matrix's output rows ({@code m (W x) = (m W) x}, {@code W (m x) = (m W) x}):
 * <ul>
 *   <li>{@code attn_q} and {@code attn_v} by {@code attention_in_multiplier}, {@code attn_k} by it times
 *       {@code key_multiplier}, {@code attn_output} by {@code attention_out_multiplier};</li>
 *   <li>{@code ffn_gate} by {@code mlp_multipliers[0]}, {@code ffn_down} by {@code mlp_multipliers[1]};</li>
 *   <li>{@code ssm_in} by {@code ssm_in_multiplier} times, row by row, the {@code ssm_multipliers} entry of its part
 *       (z, x, B, C, dt), {@code ssm_out} by {@code ssm_out_multiplier};</li>
 *   <li>{@code token_embd} by {@code embedding_multiplier} and {@code output} by {@code lm_head_multiplier}. With tied
 *       embeddings and two different multipliers, the file holds its own {@code output} (the embeddings times
 *       {@code lm_head_multiplier}), as llama.cpp would otherwise reuse the embeddings baked for the input.</li>
 * </ul>
 * NOTE: a factor of a projection's input must not scale its bias, one of its output must: the converter scales whole
 * tensors, right only without biases. None is exported here ({@link DecoderHyperparameters} refuses Falcon-H1's
 * attention, MLP and Mamba-2 projection biases), so each factor scales a matrix alone.
 */
final class BakedMultipliers {
    private BakedMultipliers() {
    }

    /**
     * Whether a tied model's file holds its own {@code output.weight}: Falcon-H1's with an {@code embedding_multiplier}
     * other than its {@code lm_head_multiplier} (equal to float32 rounding, one tensor serves both).
     */
    static boolean writesOwnOutput(DecoderConfig config) {
        DecoderConfig.Multipliers m = config.multipliers();
        return config.parallelHybrid() != null && config.tieWordEmbeddings()
                && Math.abs((double) m.embedding() * m.logitsScaling() - 1) > 1e-6;
    }

    /** {@code placements} of a Falcon-H1 model with its multipliers as row factors; of any other model as they are. */
    static List<Placement> bake(List<Placement> placements, DecoderConfig config) {
        ParallelHybridConfig layer = config.parallelHybrid();
        if (layer == null) {
            return placements;
        }
        MambaConfig mamba = config.mamba();
        float[] projection = mamba.projectionFactors();
        float ssmIn = mamba.inputMultiplier();
        float embedding = config.multipliers().embedding();
        float head = (float) (1.0 / config.multipliers().logitsScaling());
        return placements.stream().map(p -> p.scaled(switch (matrixName(p.ggufName())) {
            case "token_embd" -> row -> embedding;
            case "output" -> row -> head;
            case "attn_q", "attn_v" -> row -> layer.attentionIn();
            case "attn_k" -> row -> layer.attentionIn() * layer.key();
            case "attn_output" -> row -> layer.attentionOut();
            case "ffn_gate" -> row -> layer.mlpGate();
            case "ffn_down" -> row -> layer.mlpDown();
            case "ssm_in" -> row -> ssmIn * projection[row];
            case "ssm_out" -> row -> layer.ssmOut();
            default -> null;
        })).toList();
    }

    /**
     * The matrix a weight's GGUF name names, without its layer and {@code .weight} ({@code attn_k} of
     * {@code blk.3.attn_k.weight}); a bias or a vector of its own gets no factor.
     */
    private static String matrixName(String ggufName) {
        if (!ggufName.endsWith(".weight")) {
            return "";
        }
        String name = ggufName.substring(0, ggufName.length() - ".weight".length());
        return name.startsWith("blk.") ? name.substring(name.indexOf('.', "blk.".length()) + 1) : name;
    }
}
