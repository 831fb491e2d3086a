package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.MambaConfig;

import java.util.List;

/**
 * Where a Mamba-2 mixer's weights ({@code mamba}) go in llama.cpp's {@code granitehybrid} (Granite 4.0 H),
 * {@code falcon-h1} and {@code nemotron_h}, as convert_hf_to_gguf.py's {@code Mamba2Model} writes them:
 * <ul>
 *   <li>{@code in_proj} as {@code ssm_in}, its rows as they are (z, then x, B and C, then one time step per head: the
 *       order llama.cpp's views read), {@code out_proj} as {@code ssm_out};</li>
 *   <li>{@code conv1d.weight} (C, 1, K) squeezed to {@code ssm_conv1d} (C, K), ggml dims [K, C];
 *       {@code conv1d.bias} as {@code ssm_conv1d.bias};</li>
 *   <li>{@code A_log} (H) as {@code ssm_a} (H, 1), ggml dims [1, H], holding {@code -exp(A_log)}, which llama.cpp
 *       multiplies by the time step; {@code D} (H) as {@code ssm_d} (H, 1); {@code dt_bias} as
 *       {@code ssm_dt.bias};</li>
 *   <li>{@code norm.weight} (innerDim) as {@code ssm_norm}, which llama.cpp reads as [innerDim / groups, groups],
 *       normalising each group apart: for one group the vector [innerDim] (the converter reshapes it to
 *       (1, innerDim), whose trailing ggml dimension of 1 llama-quantize drops: the same tensor to ggml), for more
 *       (Falcon-H1's) the matrix (groups, innerDim / groups); none for a mixer without the norm (Falcon-H1's
 *       {@code mamba_rms_norm} false), which llama.cpp then skips.</li>
 * </ul>
 */
final class MambaPlacements {
    private MambaPlacements() {
    }

    /**
     * Adds the placements of the mixer whose Hugging Face prefix is {@code m} ({@code model.layers.N.mamba.},
     * Nemotron-H's {@code model.layers.N.mixer.}).
     */
    static void add(List<Placement> out, String m, String blk, MambaConfig c) {
        int heads = c.numHeads();
        out.add(Placement.plain(m + "in_proj.weight", blk + "ssm_in.weight"));
        int channels = c.convDim();
        int kernel = c.convKernel();
        out.add(Placement.reshaped(m + "conv1d.weight", blk + "ssm_conv1d.weight", Placement.Values.NONE, channels,
                kernel));
        out.add(Placement.plain(m + "conv1d.bias", blk + "ssm_conv1d.bias"));
        out.add(Placement.plain(m + "dt_bias", blk + "ssm_dt.bias"));
        // StrictMath: the same bits on any JVM
        out.add(Placement.reshaped(m + "A_log", blk + "ssm_a", v -> (float) -StrictMath.exp(v), heads, 1));
        out.add(Placement.reshaped(m + "D", blk + "ssm_d", Placement.Values.NONE, heads, 1));
        if (c.gatedNorm() != MambaConfig.GatedNorm.NONE) {
            int groups = c.numGroups();
            out.add(groups == 1 ? Placement.plain(m + "norm.weight", blk + "ssm_norm.weight")
                    : Placement.reshaped(m + "norm.weight", blk + "ssm_norm.weight", Placement.Values.NONE, groups,
                    c.innerDim() / groups));
        }
        out.add(Placement.plain(m + "out_proj.weight", blk + "ssm_out.weight"));
    }
}
