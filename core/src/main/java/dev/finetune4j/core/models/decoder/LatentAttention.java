package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.EffectiveWeight;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.DType;
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
 * {@code o_proj}. A KV cache holds, per layer and position, only the normalised latent and the rotated shared key
 * ({@link dev.finetune4j.core.nn.KvCache#extendLatent}: {@code kv_lora_rank + qk_rope_head_dim} values where the
 * expanded heads would take {@code 2 heads paddedHeadDim}). A pass with a cache attends from it one of two ways,
 * whichever takes fewer multiply-adds: it expands every cached latent through {@code kv_b_proj} as above (a prompt
 * read at once, whose own latents need expanding anyway), or, decoding, it attends in latent space with
 * {@code kv_b_proj}'s blocks absorbed into the queries and the outputs ({@link #absorbedAttention}). What is absorbed
 * is the weight {@code kv_b_proj} applies: a quantized one dequantized, an adapter's (LoRA, DoRA) with its update
 * folded in ({@link EffectiveWeight}); a batch whose rows use different adapters (the serving engine's), each row
 * its own weight, takes the first way, where they apply to the expanded latents exactly as in training. A latent
 * wider than the device's attention kernels take (CUDA's 512 under DeepSeek-V3's 576) is attended by products and
 * a softmax instead ({@link Attention#composed}). Without a cache (training) the heads are expanded. Mistral 4
 * multiplies each WHOLE query head of position p, after the rotation, by Llama 4's temperature
 * ({@link QueryTemperature}): its rotated dimensions by the queries' rotary tables, which carry the factor
 * ({@link RotaryFrequencies#queries}), its no-rope ones by tables of zero angles that carry it alone
 * ({@link RotaryFrequencies#unrotatedQueries}); the keys are not scaled, and the absorbed queries carry the factor
 * from their no-rope dimensions.
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
        int rank = sizes.kvLoraRank();
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
        Tensor latent = layer("kv_a_layernorm").forward(compressed.slice(2, 0, rank).contiguous());
        Tensor sharedKey = rotated(compressed.slice(2, rank, rank + rope).contiguous()
                .reshape(b, t, 1, rope).permute(0, 2, 1, 3), rotary, ctx);
        if (ctx.cache() == null) {
            return expandedAttention(q, latent, sharedKey, ctx);
        }
        // the cache keeps per position the normalised latent, then the rotated shared key: (B, 1, S, rank + rope)
        Tensor entry = Concat.cat(3, latent.reshape(b, 1, t, rank), sharedKey);
        Tensor cached = ctx.cache().extendLatent(layerIndex, entry);
        int s = cached.dim(2);
        if (absorbs(t, s, cached, ctx)) {
            Tensor w = absorbedWeight();
            if (w != null) {
                return absorbedAttention(q, cached, w, ctx);
            }
        }
        return expandedAttention(q, cached.slice(3, 0, rank).contiguous().reshape(b, s, rank),
                cached.slice(3, rank, rank + rope).contiguous(), ctx);
    }

    /**
     * Attention over heads expanded from the latents by {@code kv_b_proj} (any adapter on it applies as in training):
     * q (B, H, T, qk_head_dim) rotated, latent (B, S, kv_lora_rank), sharedKey (B, 1, S, qk_rope_head_dim) rotated
     * -> (B, T, C).
     */
    private Tensor expandedAttention(Tensor q, Tensor latent, Tensor sharedKey, ForwardContext ctx) {
        int b = q.dim(0);
        int t = q.dim(2);
        int s = latent.dim(1);
        int heads = config.numAttentionHeads();
        int nope = sizes.qkNopeHeadDim();
        int value = sizes.vHeadDim();
        Tensor expanded = layer("kv_b_proj").forward(latent).reshape(b, s, heads, nope + value).permute(0, 2, 1, 3);
        Tensor k = Concat.cat(3, expanded.slice(3, 0, nope),
                sharedKey.expand(Shape.of(b, heads, s, sizes.qkRopeHeadDim())));
        Tensor v = expanded.slice(3, nope, nope + value);
        int width = sizes.paddedHeadDim();
        Tensor attn = Attention.scaledDotProduct(padded(q, width), padded(k, width), padded(v, width), ctx.mask(),
                config.attentionScale(), 0f, null, ctx.attentionDropout(config.dropouts().attention()));
        return layer("o_proj").forward(attn.slice(3, 0, value).permute(0, 2, 1, 3).reshape(b, t, heads * value));
    }

    /**
     * Attention in latent space, one key and value head for all query heads (DeepSeek-V2 paper, section 2.1.2): head
     * h's score of position p is {@code q_nope W_UK[h] . latent_p + q_rope . k_rope_p}, where {@code W_UK[h]} is head
     * h's (qk_nope_head_dim, kv_lora_rank) block of {@code kv_b_proj}'s weight {@code w}, and its output is the
     * attended latents times {@code W_UV[h]^T}, its (v_head_dim, kv_lora_rank) block. q (B, H, T, qk_head_dim), cached
     * (B, 1, S, kv_lora_rank + qk_rope_head_dim), w (H (qk_nope_head_dim + v_head_dim), kv_lora_rank) -> (B, T, C).
     */
    private Tensor absorbedAttention(Tensor q, Tensor cached, Tensor weight, ForwardContext ctx) {
        int b = q.dim(0);
        int t = q.dim(2);
        int heads = config.numAttentionHeads();
        int nope = sizes.qkNopeHeadDim();
        int rope = sizes.qkRopeHeadDim();
        int rank = sizes.kvLoraRank();
        int value = sizes.vHeadDim();
        Tensor w = weight.reshape(heads, nope + value, rank);
        // per head (B T, nope) x (nope, rank): the heads lead so that each multiplies its own block
        Tensor qNope = q.slice(3, 0, nope).permute(1, 0, 2, 3).contiguous().reshape(heads, b * t, nope);
        Tensor qLatent = Matmul.matmul(qNope, w.slice(1, 0, nope)).reshape(heads, b, t, rank).permute(1, 0, 2, 3);
        Tensor query = Concat.cat(3, qLatent, q.slice(3, nope, nope + rope));
        Tensor attended = attendedLatents(query, cached, ctx).permute(1, 0, 2, 3).contiguous()
                .reshape(heads, b * t, rank);
        Tensor out = Matmul.matmul(attended, w.slice(1, nope, nope + value).permute(0, 2, 1));
        Tensor merged = out.reshape(heads, b, t, value).permute(1, 2, 0, 3).reshape(b, t, heads * value);
        return layer("o_proj").forward(merged);
    }

    /**
     * The cached latents attended by the absorbed queries, query (B, H, T, kv_lora_rank + qk_rope_head_dim), cached
     * (B, 1, S, same) -> (B, H, T, kv_lora_rank): by the device's attention kernels when they take heads that wide
     * (the cached entry serves as key and as value, its rotated dimensions reaching outputs that are dropped), else
     * composed from products and a softmax ({@link Attention#composed}), as CUDA's kernels (512) need for
     * DeepSeek-V3's 576.
     */
    private Tensor attendedLatents(Tensor query, Tensor cached, ForwardContext ctx) {
        int rank = sizes.kvLoraRank();
        if (Attention.maxHeadDim(cached) >= cached.dim(3)) {
            return Attention.scaledDotProduct(query, cached, cached, ctx.mask(), config.attentionScale(), 0f, null,
                    ctx.attentionDropout(config.dropouts().attention())).slice(3, 0, rank);
        }
        return Attention.composed(query, cached, cached.slice(3, 0, rank), ctx.mask(), config.attentionScale());
    }

    /**
     * Whether this pass attends in latent space: {@code kv_b_proj} can hand one weight ({@link #absorbedWeight}),
     * the latent fits the attention kernels or the pass is not dropping attention out (the composed attention that
     * wider latents take has no dropout), and it costs fewer multiply-adds than expanding the S cached latents: per
     * head, decoding (T = 1) trades {@code S kv_lora_rank (qk_nope_head_dim + v_head_dim)} for about
     * {@code 2 S (kv_lora_rank + qk_rope_head_dim)}, while a prompt read at once (T = S) must expand its own latents
     * anyway.
     */
    private boolean absorbs(int t, int s, Tensor cached, ForwardContext ctx) {
        Module projection = child("kv_b_proj");
        if (projection.getClass() != Linear.class && !(projection instanceof EffectiveWeight)) {
            return false;
        }
        boolean dropsOut = ctx.dropoutStream() != null && config.dropouts().attention() > 0f;
        if (dropsOut && Attention.maxHeadDim(cached) < cached.dim(3)) {
            return false;
        }
        long rank = sizes.kvLoraRank();
        long perValue = sizes.qkNopeHeadDim() + sizes.vHeadDim();
        long expand = s * rank * perValue + 2L * t * s * sizes.paddedHeadDim();
        long absorb = t * rank * perValue + 2L * t * s * cached.dim(3);
        return absorb < expand;
    }

    /**
     * {@code kv_b_proj}'s (H (qk_nope_head_dim + v_head_dim), kv_lora_rank) weight as the layer applies it now: a plain
     * layer's own (F32 or BF16; another dtype, NF4 under QLoRA, dequantized to float32 for this pass, which costs one
     * weight's worth of work where expanding costs S of them), an adapter's with its update folded in
     * ({@link EffectiveWeight}: LoRA, DoRA); null when the adapter cannot fold now (dropout in training), and the
     * latents are expanded through the layer instead.
     */
    private Tensor absorbedWeight() {
        Module projection = child("kv_b_proj");
        if (projection instanceof EffectiveWeight folded) {
            return folded.effectiveWeight();
        }
        Tensor w = ((Linear) projection).weight();
        return w.dtype() == DType.F32 || w.dtype() == DType.BF16 ? w : w.to(DType.F32);
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
