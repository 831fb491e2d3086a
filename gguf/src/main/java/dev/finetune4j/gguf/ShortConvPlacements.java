package dev.finetune4j.gguf;

import java.util.List;

/**
 * Where an LFM2 convolution layer's weights ({@code conv}) go in llama.cpp's {@code lfm2}, as convert_hf_to_gguf.py's
 * {@code LFM2Model} writes them:
 * <ul>
 *   <li>{@code in_proj} (3C, C) as {@code shortconv.in_proj}, its rows as they are: llama.cpp views its output as B,
 *       C and x in that order, as transformers chunks it;</li>
 *   <li>{@code conv.weight} (C, 1, K) squeezed to {@code shortconv.conv} (C, K), ggml dims [K, C], which
 *       {@code ggml_ssm_conv} slides over the cached and new inputs as the causal cross-correlation transformers
 *       computes (tap K - 1 weighs the newest input);</li>
 *   <li>{@code out_proj} as {@code shortconv.out_proj}.</li>
 * </ul>
 * The layer's biases ({@code conv_bias}) have no place: llama.cpp's graph adds none, so they are refused
 * ({@link DecoderHyperparameters}).
 */
final class ShortConvPlacements {
    private ShortConvPlacements() {
    }

    /**
     * Adds the placements of the layer whose Hugging Face prefix is {@code hf} ({@code model.layers.N.}), for a model
     * of hidden size {@code channels} and a kernel of {@code kernel} taps.
     */
    static void add(List<Placement> out, String hf, String blk, int channels, int kernel) {
        String m = hf + "conv.";
        out.add(Placement.plain(m + "in_proj.weight", blk + "shortconv.in_proj.weight"));
        out.add(Placement.reshaped(m + "conv.weight", blk + "shortconv.conv.weight", Placement.Values.NONE, channels,
                kernel));
        out.add(Placement.plain(m + "out_proj.weight", blk + "shortconv.out_proj.weight"));
    }
}
