package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * DeepSeek-V3's multi-head latent attention, as transformers' {@code DeepseekV3Attention} computes it: queries from
 * {@code q_proj}, or {@code q_b_proj(q_a_layernorm(q_a_proj(x)))}; from {@code kv_a_proj_with_mqa(x)} a latent of
 * {@code kv_lora_rank} (normalised by {@code kv_a_layernorm}, then expanded per head by {@code kv_b_proj} into each
 * head's key dimensions without rotary and its value) and one rotated key shared by every head. Each query and key head
 * is its {@code qk_nope_head_dim} dimensions, then its {@code qk_rope_head_dim} rotated ones. The heads then attend as
 * any others (the scores are dot products, so the rotated dimensions' order inside a head does not matter: adjacent
 * pairs rotate in place here where transformers first gathers them into halves); the narrower of the key and value
 * heads is padded with zeros to {@link LatentAttentionConfig#paddedHeadDim}, so that the attention kernels and the KV
 * cache hold heads of one width, and each output head keeps its first {@code v_head_dim} dimensions for
 * {@code o_proj}. The cache holds the expanded keys and values, not the latent. Mistral 4 multiplies each WHOLE query
 * head of position p, after the rotation, by Llama 4's temperature ({@link QueryTemperature}): its rotated dimensions
 * by the queries' rotary tables, which carry the factor ({@link RotaryFrequencies#queries}), its no-rope ones by
 * tables of zero angles that carry it alone ({@link RotaryFrequencies#unrotatedQueries}); the keys are not scaled.
 */
final class LatentAttention extends Module implements Block {
    /** The latents' RMSNorm epsilon: transformers builds both norms with its default, whatever rms_norm_eps says. */
    private static final float LATENT_NORM_EPS = 1e-6f;

    private final DecoderConfig config;
    private final LatentAttentionConfig sizes;
    private final RotaryFrequencies rotary;
    private final int layerIndex;

    /**
     * The projections of layer {@code layerIndex}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration, whose {@link DecoderConfig#latentAttention()} is set
     * @param rotary the rotary frequencies over {@code qk_rope_head_dim}, with Mistral 4's temperature on the queries
     * @param layerIndex the layer's index, which selects its slot in a KV cache
     */
    LatentAttention(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int layerIndex) {
        this.config = c;
        this.sizes = c.latentAttention();
        this.rotary = rotary;
        this.layerIndex = layerIndex;
        int hidden = c.hiddenSize();
        int heads = c.numAttentionHeads();
        boolean bias = c.attentionBias();
        if (sizes.qLoraRank() > 0) {
            registerChild("q_a_proj", new Linear(scope, hidden, sizes.qLoraRank(), bias));
            registerChild("q_a_layernorm", new RmsNorm(scope, sizes.qLoraRank(), LATENT_NORM_EPS, false));
            registerChild("q_b_proj", new Linear(scope, sizes.qLoraRank(), heads * sizes.qkHeadDim(), false));
        } else {
            registerChild("q_proj", new Linear(scope, hidden, heads * sizes.qkHeadDim(), false));
        }
        registerChild("kv_a_proj_with_mqa", new Linear(scope, hidden, sizes.kvLoraRank() + sizes.qkRopeHeadDim(), bias));
        registerChild("kv_a_layernorm", new RmsNorm(scope, sizes.kvLoraRank(), LATENT_NORM_EPS, false));
        registerChild("kv_b_proj", new Linear(scope, sizes.kvLoraRank(),
                heads * (sizes.qkNopeHeadDim() + sizes.vHeadDim()), false));
        registerChild("o_proj", new Linear(scope, heads * sizes.vHeadDim(), hidden, bias));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        int b = x.dim(0);
        int t = x.dim(1);
        int heads = config.numAttentionHeads();
        int nope = sizes.qkNopeHeadDim();
        int rope = sizes.qkRopeHeadDim();
        int value = sizes.vHeadDim();
        Tensor queries = sizes.qLoraRank() > 0
                ? layer("q_b_proj").forward(layer("q_a_layernorm").forward(layer("q_a_proj").forward(x)))
                : layer("q_proj").forward(x);
        Tensor q = queries.reshape(b, t, heads, sizes.qkHeadDim()).permute(0, 2, 1, 3);
        Tensor unrotated = q.slice(3, 0, nope);
        if (rotary.unrotatedQueries() != null) {
            unrotated = rotated(unrotated, rotary.unrotatedQueries(), ctx);
        }
        q = Concat.cat(3, unrotated, rotated(q.slice(3, nope, nope + rope), rotary.queries(), ctx));
        Tensor compressed = layer("kv_a_proj_with_mqa").forward(x);
        Tensor latent = layer("kv_a_layernorm").forward(compressed.slice(2, 0, sizes.kvLoraRank()).contiguous());
        Tensor sharedKey = rotated(compressed.slice(2, sizes.kvLoraRank(), sizes.kvLoraRank() + rope).contiguous()
                .reshape(b, t, 1, rope).permute(0, 2, 1, 3), rotary, ctx);
        Tensor expanded = layer("kv_b_proj").forward(latent).reshape(b, t, heads, nope + value).permute(0, 2, 1, 3);
        Tensor k = Concat.cat(3, expanded.slice(3, 0, nope), sharedKey.expand(Shape.of(b, heads, t, rope)));
        Tensor v = expanded.slice(3, nope, nope + value);
        int width = sizes.paddedHeadDim();
        q = padded(q, width);
        k = padded(k, width);
        v = padded(v, width);
        if (ctx.cache() != null) {
            Tensor[] kv = ctx.cache().extend(layerIndex, k, v);
            k = kv[0];
            v = kv[1];
        }
        Tensor attn = Attention.scaledDotProduct(q, k, v, ctx.mask(), config.attentionScale(), 0f, null,
                ctx.attentionDropout(config.dropouts().attention()));
        Tensor merged = attn.slice(3, 0, value).permute(0, 2, 1, 3).reshape(b, t, heads * value);
        return layer("o_proj").forward(merged);
    }

    /** (B, H, T, R) rotated by {@code frequencies} over its R dimensions, read from a contiguous copy. */
    private Tensor rotated(Tensor part, RotaryFrequencies frequencies, ForwardContext ctx) {
        Tensor heads = part.contiguous();
        return Rotary.apply(heads, frequencies.table(ctx.positions(), ctx.sequenceLengths(), heads.device()),
                config.rotaryLayout());
    }

    /** (B, H, T, D) widened with zeros to {@code width}, or itself (contiguous) when already that wide. */
    private static Tensor padded(Tensor heads, int width) {
        int d = heads.dim(3);
        if (d == width) {
            return heads.contiguous();
        }
        Tensor zeros = Tensor.zeros(heads.device(), Shape.of(heads.dim(0), heads.dim(1), heads.dim(2), width - d));
        return Concat.cat(3, heads, zeros);
    }
}
