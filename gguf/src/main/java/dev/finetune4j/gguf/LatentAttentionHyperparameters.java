package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.RopeConfig;

import java.util.Set;
import java.util.function.Consumer;

/**
 * DeepSeek-V2's and V3's multi-head latent attention as llama.cpp's {@code deepseek2} keys say it, as
 * convert_hf_to_gguf.py's {@code DeepseekV2Model} writes them, and the refusal of what those keys cannot say
 * (src/models/deepseek2.cpp, src/llama-context.cpp):
 * <ul>
 *   <li>one key/value head ({@code attention.head_count_kv} 1) of {@code kv_lora_rank + qk_rope_head_dim} keys and
 *       {@code kv_lora_rank} values (the latent every head attends to, in the absorbed form), the heads' own widths as
 *       {@code attention.key_length_mla} ({@code qk_nope_head_dim + qk_rope_head_dim}) and
 *       {@code attention.value_length_mla} ({@code v_head_dim}), the bottleneck ranks as {@code attention.q_lora_rank}
 *       and {@code attention.kv_lora_rank};</li>
 *   <li>YaRN's {@code mscale_all_dim} as {@code rope.scaling.yarn_log_multiplier} (times 0.1, which llama.cpp divides
 *       out again); from it llama.cpp computes the cos/sin scale and the softmax's ({@link #llamaCppMagnitudes}), which
 *       must be the model's: transformers' cos/sin scale is {@code mscale(factor, mscale) / mscale(factor,
 *       mscale_all_dim)}, llama.cpp reads no {@code mscale} and takes it for {@code mscale_all_dim} (as in every
 *       published DeepSeek-V2 and V3).</li>
 * </ul>
 * NOTE: two keys differ from the converter's so that llama.cpp loads the model it writes: {@code attention.q_lora_rank}
 * is written as 0 for plain {@code q_proj} queries (llama.cpp requires the key at any depth but DeepSeek-V2-Lite's 26
 * and 27 layers, where it reads none and takes the queries for plain; the converter omits it), and the experts' groups
 * only where they limit a token's experts ({@link MixtureHyperparameters}).
 */
final class LatentAttentionHyperparameters {
    /**
     * The epsilon of transformers' {@code q_a_layernorm} and {@code kv_a_layernorm}, built with its RMSNorm's default
     * whatever {@code rms_norm_eps} says; llama.cpp normalises them with {@code rms_norm_eps}.
     */
    static final float LATENT_NORM_EPS = 1e-6f;
    /** The depths at which llama.cpp's deepseek2 reads no {@code q_lora_rank} and loads plain queries. */
    private static final Set<Integer> LITE_DEPTHS = Set.of(26, 27);
    /** A third lite form: 48 layers over a vocabulary of 128,256 (Kanana-2). */
    private static final int LITE_VOCAB_DEPTH = 48;
    private static final int LITE_VOCAB = 128_256;

    private final DecoderConfig config;
    private final LatentAttentionConfig sizes;

    /** The latent attention of {@code config}, checked: each thing llama.cpp cannot compute goes to {@code cannot}. */
    LatentAttentionHyperparameters(DecoderConfig config, Consumer<String> cannot) {
        this.config = config;
        this.sizes = config.latentAttention();
        refuseWhatGgufCannotSay(cannot);
    }

    private void refuseWhatGgufCannotSay(Consumer<String> cannot) {
        if (config.normEps() != LATENT_NORM_EPS) {
            cannot.accept("rms_norm_eps " + config.normEps() + " (its graph normalises the query and key/value latents "
                    + "with it, where transformers' q_a_layernorm and kv_a_layernorm use " + LATENT_NORM_EPS
                    + " whatever the config says; the published models set " + LATENT_NORM_EPS + ")");
        }
        if (sizes.qLoraRank() > 0 && liteDepth()) {
            cannot.accept("a query bottleneck (q_lora_rank " + sizes.qLoraRank() + ") in a model of "
                    + config.numHiddenLayers() + " layers (at DeepSeek-V2-Lite's depths its loader reads no "
                    + "q_lora_rank and requires a plain q_proj)");
        }
        RopeConfig rope = config.rope();
        if (rope.ropeType().equals("yarn") && rope.mscaleAllDim() == 0) {
            cannot.accept("YaRN without mscale_all_dim (its graph then scales the softmax by (0.1 ln(factor) + 1)^2, "
                    + "which transformers' DeepSeek attention does not)");
            return;
        }
        double[] llama = llamaCppMagnitudes();
        double cosSin = modelCosSinScale(rope);
        if (Math.abs(llama[0] / cosSin - 1) > 1e-6 || Math.abs(llama[1] / config.attentionScale() - 1) > 1e-6) {
            cannot.accept("the rotary cos/sin scale " + cosSin + " and softmax scale " + config.attentionScale()
                    + " (rope_type '" + rope.ropeType() + "', factor " + rope.factor() + ", mscale_all_dim "
                    + rope.mscaleAllDim() + "; from its keys llama.cpp computes " + llama[0] + " and " + llama[1]
                    + ": it reads no mscale and takes it for mscale_all_dim, as the published models set it)");
        }
    }

    /** Whether llama.cpp's loader takes a model of this depth (and vocabulary) for a lite one. */
    private boolean liteDepth() {
        int layers = config.numHiddenLayers();
        return LITE_DEPTHS.contains(layers) || layers == LITE_VOCAB_DEPTH && config.vocabSize() == LITE_VOCAB;
    }

    /**
     * The cos/sin scale and the softmax scale llama.cpp computes from the keys written: its YaRN attention factor
     * (src/llama-context.cpp: {@code mscale(f, m) / mscale(f, m)} = 1 with a log multiplier m, else {@code mscale(f,
     * 1)}, divided by the {@code 0.1 ln(f) + 1} that ggml's rope multiplies back), and deepseek2.cpp's
     * {@code kq_scale = (attn_factor (0.1 ln f + 1) (0.1 m ln f + 1))^2 / sqrt(key_length_mla)}.
     */
    private double[] llamaCppMagnitudes() {
        RopeConfig rope = config.rope();
        boolean yarn = rope.ropeType().equals("yarn");
        double f = yarn || rope.ropeType().equals("linear") ? rope.factor() : 1;
        double logF = Math.log(f);
        double attnFactor = !yarn ? 1 : (rope.mscaleAllDim() != 0 ? 1 : mscale(f, 1)) / (1 + 0.1 * logF);
        double cosSin = yarn ? attnFactor * (1 + 0.1 * logF) : attnFactor;
        double magnitude = attnFactor * (1 + 0.1 * logF) * (1 + 0.1 * rope.mscaleAllDim() * logF);
        return new double[] {cosSin, magnitude * magnitude / Math.sqrt(sizes.qkHeadDim())};
    }

    /** The model's cos/sin scale: YaRN's attention factor (its paper's {@code 0.1 ln(f) + 1} when unset), else 1. */
    private static double modelCosSinScale(RopeConfig rope) {
        if (!rope.ropeType().equals("yarn")) {
            return 1;
        }
        return Double.isNaN(rope.attentionFactor()) ? mscale(rope.factor(), 1) : rope.attentionFactor();
    }

    /** DeepSeek's YaRN magnitude {@code 0.1 m ln(f) + 1}, 1 for a factor up to 1. */
    private static double mscale(double factor, double m) {
        return factor <= 1 ? 1 : 0.1 * m * Math.log(factor) + 1;
    }

    /** The keys, {@code a} the architecture's prefix, beside the heads' count written by the caller. */
    void put(GgufMetadata meta, String a) {
        meta.putUint32(a + "attention.head_count_kv", 1)
                .putUint32(a + "attention.key_length", sizes.kvLoraRank() + sizes.qkRopeHeadDim())
                .putUint32(a + "attention.value_length", sizes.kvLoraRank())
                .putUint32(a + "attention.key_length_mla", sizes.qkHeadDim())
                .putUint32(a + "attention.value_length_mla", sizes.vHeadDim())
                .putUint32(a + "attention.q_lora_rank", sizes.qLoraRank())
                .putUint32(a + "attention.kv_lora_rank", sizes.kvLoraRank());
        if (config.rope().mscaleAllDim() != 0) {
            meta.putFloat32(a + "rope.scaling.yarn_log_multiplier", (float) (0.1 * config.rope().mscaleAllDim()));
        }
    }
}
