package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.LatentAttentionConfig;

import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Where a DeepSeek-V2 or V3 multi-head latent attention's weights ({@code self_attn}) go in llama.cpp's
 * {@code deepseek2}, as convert_hf_to_gguf.py's {@code DeepseekV2Model} writes them:
 * <ul>
 *   <li>{@code q_a_proj}, {@code q_a_layernorm} and {@code q_b_proj} as {@code attn_q_a}, {@code attn_q_a_norm} and
 *       {@code attn_q_b}, or a plain {@code q_proj} as {@code attn_q}; {@code kv_a_proj_with_mqa} and
 *       {@code kv_a_layernorm} as {@code attn_kv_a_mqa} and {@code attn_kv_a_norm}; {@code o_proj} as
 *       {@code attn_output};</li>
 *   <li>{@code kv_b_proj} (H (nope + v), L), split per head for the absorbed form: each head's key rows transposed,
 *       stacked as {@code attn_k_b} (ggml dims [nope, L, H]), its value rows as they are, stacked as {@code attn_v_b}
 *       ([L, v, H]).</li>
 * </ul>
 * llama.cpp rotates the last {@code qk_rope_head_dim} dimensions of each query head and of the shared key in adjacent
 * pairs, as DeepSeek-V2 and V3 ({@code rope_interleave} true) do, so their rows are kept; a V3 of
 * {@code rope_interleave} false rotates halves, and those rows are reordered into pairs (the converter does not: it
 * assumes the published models' pairs).
 */
final class LatentAttentionPlacements {
    private LatentAttentionPlacements() {
    }

    /**
     * Adds the placements of the attention of the layer whose Hugging Face prefix is {@code hf}
     * ({@code model.layers.N.}), its rotated rows reordered from halves into pairs where {@code halvesToPairs}.
     */
    static void add(List<Placement> out, String hf, String blk, LatentAttentionConfig c, int heads,
                    boolean halvesToPairs) {
        String m = hf + "self_attn.";
        int rope = c.qkRopeHeadDim();
        IntUnaryOperator queryRows = halvesToPairs ? rotatedAsPairs(c.qkHeadDim(), c.qkNopeHeadDim(), rope) : null;
        if (c.qLoraRank() > 0) {
            out.add(Placement.plain(m + "q_a_proj.weight", blk + "attn_q_a.weight"));
            out.add(Placement.plain(m + "q_a_layernorm.weight", blk + "attn_q_a_norm.weight"));
            out.add(Placement.reordered(m + "q_b_proj.weight", blk + "attn_q_b.weight", queryRows, null,
                    Placement.Values.NONE, null));
        } else {
            out.add(Placement.reordered(m + "q_proj.weight", blk + "attn_q.weight", queryRows, null,
                    Placement.Values.NONE, null));
        }
        // the latent's kv_lora_rank rows, then the shared key's rotated ones
        int latentRows = c.kvLoraRank() + rope;
        out.add(Placement.reordered(m + "kv_a_proj_with_mqa.weight", blk + "attn_kv_a_mqa.weight",
                halvesToPairs ? rotatedAsPairs(latentRows, c.kvLoraRank(), rope) : null, null, Placement.Values.NONE,
                null));
        out.add(Placement.plain(m + "kv_a_layernorm.weight", blk + "attn_kv_a_norm.weight"));
        String kvB = m + "kv_b_proj.weight";
        int perHead = c.qkNopeHeadDim() + c.vHeadDim();
        for (int h = 0; h < heads; h++) {
            int first = h * perHead;
            out.add(Placement.selected(kvB, blk + "attn_k_b.weight", h,
                    w -> w.slice(0, first, first + c.qkNopeHeadDim()).transpose(0, 1)));
        }
        for (int h = 0; h < heads; h++) {
            int first = h * perHead + c.qkNopeHeadDim();
            out.add(Placement.selected(kvB, blk + "attn_v_b.weight", h, w -> w.slice(0, first, first + c.vHeadDim())));
        }
        out.add(Placement.plain(m + "o_proj.weight", blk + "attn_output.weight"));
    }

    /**
     * File row r of rows in blocks of {@code block}, whose last {@code rope} rows (after {@code offset}) rotate: within
     * them, row 2i is Hugging Face's row i and row 2i + 1 its row rope/2 + i; the others keep their place.
     */
    private static IntUnaryOperator rotatedAsPairs(int block, int offset, int rope) {
        return r -> {
            int within = r % block - offset;
            if (within < 0) {
                return r;
            }
            return r - within + (within % 2) * (rope / 2) + within / 2;
        };
    }
}
