package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;

import java.io.IOException;
import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * DeepSeek-V2's, DeepSeek-V3's and Mistral 4's multi-head latent attention in the graph, what core's
 * {@code LatentAttention} computes without absorbing {@code kv_b_proj}: queries from {@code q_proj}, or from
 * {@code q_b_proj(q_a_layernorm(q_a_proj(x)))}; from {@code kv_a_proj_with_mqa(x)} a latent of {@code kv_lora_rank},
 * normalised by {@code kv_a_layernorm} and expanded by {@code kv_b_proj} into each head's key dimensions without rotary
 * and its value, and one rotated key of {@code qk_rope_head_dim} that every head shares. Each query and key head is its
 * {@code qk_nope_head_dim} dimensions, then its rotated ones (in adjacent pairs where the config interleaves them, as
 * core rotates them: the same permutation of both sides changes no score). The scores are scaled by
 * {@code qk_head_dim^-0.5} times YaRN's mscale where the config has it ({@link DecoderConfig#attentionScale}), and
 * Mistral 4 multiplies each whole query head by Llama 4's temperature after the rotation.
 *
 * <p>The cache holds the expanded heads, as ONNX Runtime GenAI feeds caches: keys of {@code qk_head_dim} and values of
 * {@code v_head_dim} dimensions per head, not the compressed latent (smaller, but no runtime would know to expand it).
 *
 * <p>Shapes: B batch, S new tokens, T cached and new tokens, C hidden, H heads; Dk {@code qk_head_dim}, Dn
 * {@code qk_nope_head_dim}, Dr {@code qk_rope_head_dim}, Dv {@code v_head_dim}, R {@code kv_lora_rank}.
 */
final class LatentAttentionGraph {
    /** The latents' RMSNorm epsilon: transformers builds both with its default, whatever rms_norm_eps says (as core). */
    private static final float LATENT_NORM_EPS = 1e-6f;

    /** A linear layer of the checkpoint, by its module name, with its bias where it has one. */
    interface Linear {
        /**
         * @param module the layer's name, without {@code .weight}
         * @param x (..., in)
         * @return (..., out)
         */
        String apply(String module, String x) throws IOException;
    }

    private final DecoderConfig c;
    private final LatentAttentionConfig sizes;
    private final GraphBuilder g;
    private final TransformerGraph t;
    private final StateDictWeights w;
    private final Linear linear;
    /** The rotary embedding over the Dr rotated dimensions alone. */
    private final RotaryGraph rotary;
    /** Mistral 4's query temperature per position, (B, 1, S, 1), or null. */
    private final String queryFactor;

    /**
     * @param t the decoder's pieces, its key heads Dk wide and its value heads Dv
     * @param rotary the rotary embedding of Dr dimensions (its head width Dr: it rotates what it is given whole)
     * @param queryFactor Mistral 4's temperature, (B, 1, S, 1), or null
     */
    LatentAttentionGraph(DecoderConfig c, GraphBuilder g, TransformerGraph t, StateDictWeights w, Linear linear,
                         RotaryGraph rotary, String queryFactor) {
        this.c = c;
        this.sizes = c.latentAttention();
        this.g = g;
        this.t = t;
        this.w = w;
        this.linear = linear;
        this.rotary = rotary;
        this.queryFactor = queryFactor;
    }

    /** Layer {@code layer}'s attention, its modules under {@code p}: x (B, S, C) -> (B, S, C). */
    String attention(int layer, String p, String x) throws IOException {
        int heads = c.numAttentionHeads();
        int nope = sizes.qkNopeHeadDim();
        int rope = sizes.qkRopeHeadDim();
        int value = sizes.vHeadDim();
        String queries = sizes.qLoraRank() > 0
                ? linear.apply(p + "q_b_proj", latentNorm(linear.apply(p + "q_a_proj", x), p + "q_a_layernorm"))
                : linear.apply(p + "q_proj", x);                                                           // (B, S, H Dk)
        List<String> q = g.ops(2, "Split", List.of(headsOf(queries, sizes.qkHeadDim()), g.ints(nope, rope)),
                intAttr("axis", 3));                                                                       // (B, H, S, Dn | Dr)
        String query = g.op("Concat", List.of(q.get(0), rotary.rotate(q.get(1))), intAttr("axis", 3));  // (B, H, S, Dk)
        if (queryFactor != null) {
            query = g.op("Mul", List.of(query, queryFactor));
        }
        List<String> compressed = g.ops(2, "Split", List.of(linear.apply(p + "kv_a_proj_with_mqa", x),
                g.ints(sizes.kvLoraRank(), rope)), intAttr("axis", 2));                                  // (B, S, R | Dr)
        String latent = latentNorm(compressed.get(0), p + "kv_a_layernorm");
        String sharedKey = rotary.rotate(g.op("Unsqueeze", List.of(compressed.get(1), g.ints(1))));     // (B, 1, S, Dr)
        List<String> expanded = g.ops(2, "Split", List.of(headsOf(linear.apply(p + "kv_b_proj", latent), nope + value),
                g.ints(nope, value)), intAttr("axis", 3));                                                 // (B, H, S, Dn | Dv)
        // the shared key broadcast over the heads: Expand takes the larger of each pair of sizes
        String key = g.op("Concat", List.of(expanded.get(0),
                g.op("Expand", List.of(sharedKey, g.ints(1, heads, 1, 1)))), intAttr("axis", 3));       // (B, H, S, Dk)
        List<String> present = t.cache(layer, key, expanded.get(1));
        TransformerGraph.Scores scores = new TransformerGraph.Scores(c.attentionScale(), 0f, 0);
        return linear.apply(p + "o_proj", t.attention(query, present.get(0), present.get(1), heads, scores));
    }

    /** (B, S, H width) -> (B, H, S, width). */
    private String headsOf(String x, int width) {
        return t.transposeHeads(g.op("Reshape", List.of(x, g.ints(0, 0, c.numAttentionHeads(), width))));
    }

    /** The RMSNorm {@code module} of a latent (the queries' or the keys' and values'). */
    private String latentNorm(String x, String module) throws IOException {
        return t.rmsNorm(x, w.asStored(module + ".weight"), LATENT_NORM_EPS, false);
    }
}
