package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.LinearAttentionConfig;

import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Where a Qwen3.5 gated DeltaNet layer's weights ({@code linear_attn}) go in llama.cpp's {@code qwen35}, as
 * convert_hf_to_gguf.py's {@code Qwen3_5TextModel} writes them:
 * <ul>
 *   <li>{@code in_proj_qkv} as {@code attn_qkv} ([q; k; v] rows), {@code in_proj_z} as {@code attn_gate},
 *       {@code in_proj_b} as {@code ssm_beta}, {@code in_proj_a} as {@code ssm_alpha}, {@code out_proj} as
 *       {@code ssm_out};</li>
 *   <li>{@code conv1d.weight} (C, 1, K) squeezed to {@code ssm_conv1d} (C, K), ggml dims [K, C];</li>
 *   <li>{@code A_log} as {@code ssm_a} holding {@code -exp(A_log)}, which llama.cpp multiplies by the softplus of the
 *       time step; {@code dt_bias} as {@code ssm_dt.bias};</li>
 *   <li>{@code norm.weight} as {@code ssm_norm}, as it is: the one RMSNorm of Qwen3.5 that scales by its weight
 *       rather than by {@code 1 + w}.</li>
 * </ul>
 * NOTE: Hugging Face orders the value heads by key head (key head k's G = Hv / Hk value heads side by side) and
 * repeats each key head G times in place; ggml broadcasts the Hk key heads over the Hv value heads tiled (value head j
 * reads key head {@code j mod Hk}). The converter therefore reorders everything laid out per value head (the v rows
 * of in_proj_qkv and its conv channels, in_proj_z, in_proj_b, in_proj_a, A_log, dt_bias, the columns of out_proj)
 * so that file head {@code g Hk + k} is Hugging Face's head {@code k G + g} ({@link #tiledValueHeads}).
 * <p>Qwen3-Next's layers go to llama.cpp's {@code qwen3next} as convert_hf_to_gguf.py's {@code Qwen3NextModel} writes
 * them: the same tensors but for its two fused input projections ({@link #addFusedProjections}), and no value head
 * regrouped (its graph repeats each key head in place, as Hugging Face does).
 */
final class LinearAttentionPlacements {
    private LinearAttentionPlacements() {
    }

    /** Adds the placements of the layer whose Hugging Face prefix is {@code hf} ({@code model.layers.N.}). */
    static void add(List<Placement> out, String hf, String blk, LinearAttentionConfig c) {
        String m = hf + "linear_attn.";
        // qwen35 reads the value heads tiled, qwen3next in Hugging Face's order (it repeats the key heads in place)
        boolean tiled = !c.fusedProjections();
        int qk = 2 * c.keyDim(); // the q and k rows (and conv channels) ahead of the v ones keep their order
        IntUnaryOperator vRows = tiled ? tiledValueHeads(c, c.valueHeadDim(), qk) : null;
        IntUnaryOperator perHead = tiled ? tiledValueHeads(c, 1, 0) : null;
        IntUnaryOperator valueHeads = tiled ? tiledValueHeads(c, c.valueHeadDim(), 0) : null;
        if (c.fusedProjections()) {
            addFusedProjections(out, m, blk, c);
        } else {
            out.add(Placement.reordered(m + "in_proj_qkv.weight", blk + "attn_qkv.weight", vRows, null,
                    Placement.Values.NONE, null));
            out.add(Placement.reordered(m + "in_proj_z.weight", blk + "attn_gate.weight", valueHeads, null,
                    Placement.Values.NONE, null));
            out.add(Placement.reordered(m + "in_proj_b.weight", blk + "ssm_beta.weight", perHead, null,
                    Placement.Values.NONE, null));
            out.add(Placement.reordered(m + "in_proj_a.weight", blk + "ssm_alpha.weight", perHead, null,
                    Placement.Values.NONE, null));
        }
        int channels = c.convDim();
        int kernel = c.convKernel();
        out.add(Placement.reordered(m + "conv1d.weight", blk + "ssm_conv1d.weight", vRows, null, Placement.Values.NONE,
                new Placement.View(w -> w.reshape(channels, kernel))));
        // the vectors are one row each: their per-head entries are its columns
        out.add(Placement.reordered(m + "A_log", blk + "ssm_a", null, perHead,
                v -> (float) -StrictMath.exp(v), null)); // StrictMath: the same bits on every JVM
        out.add(Placement.reordered(m + "dt_bias", blk + "ssm_dt.bias", null, perHead, Placement.Values.NONE, null));
        out.add(Placement.plain(m + "norm.weight", blk + "ssm_norm.weight"));
        out.add(Placement.reordered(m + "out_proj.weight", blk + "ssm_out.weight", null, valueHeads,
                Placement.Values.NONE, null));
    }

    /**
     * Qwen3-Next's fused projections, as its converter splits them: {@code in_proj_qkvz}, whose rows are per key head
     * [q (dk), k (dk), v (G dv), z (G dv)], as {@code attn_qkv} (every head's q, then every head's k, then every head's
     * v) and {@code attn_gate} (every head's z); {@code in_proj_ba}, per key head [b (G), a (G)], as
     * {@code ssm_ba}, which llama.cpp splits so itself.
     */
    private static void addFusedProjections(List<Placement> out, String m, String blk, LinearAttentionConfig c) {
        int dk = c.keyHeadDim();
        int values = c.valueDim() / c.numKeyHeads(); // a key head's G value heads
        int perKeyHead = 2 * dk + 2 * values;
        int keys = c.keyDim();
        IntUnaryOperator qkv = r -> r < 2 * keys ? (r % keys) / dk * perKeyHead + r / keys * dk + r % dk
                : (r - 2 * keys) / values * perKeyHead + 2 * dk + (r - 2 * keys) % values;
        IntUnaryOperator z = r -> r / values * perKeyHead + 2 * dk + values + r % values;
        String qkvz = m + "in_proj_qkvz.weight";
        out.add(Placement.reordered(qkvz, blk + "attn_qkv.weight", qkv, null, Placement.Values.NONE,
                new Placement.SelectedRows(c.convDim())));
        out.add(Placement.reordered(qkvz, blk + "attn_gate.weight", z, null, Placement.Values.NONE,
                new Placement.SelectedRows(c.valueDim())));
        out.add(Placement.plain(m + "in_proj_ba.weight", blk + "ssm_ba.weight"));
    }

    /**
     * The file order of entries laid out per value head, each of {@code headSize} entries, after {@code offset}
     * entries that keep their place: file head {@code g Hk + k} is Hugging Face's head {@code k G + g}; null (the
     * order kept) when every key head has one value head.
     */
    static IntUnaryOperator tiledValueHeads(LinearAttentionConfig c, int headSize, int offset) {
        int keyHeads = c.numKeyHeads();
        int group = c.numValueHeads() / keyHeads;
        if (group == 1) {
            return null;
        }
        return i -> {
            if (i < offset) {
                return i;
            }
            int head = (i - offset) / headSize;
            int within = (i - offset) % headSize;
            int source = (head % keyHeads) * group + head / keyHeads;
            return offset + source * headSize + within;
        };
    }
}
