package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.models.decoder.DecoderConfig.QkNorm;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.HeadwiseLayerNorm;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.nn.SharedKeyValues;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Self-attention of the decoder family: q/k/v/o projections (Phi-3: one fused {@code qkv_proj}), optional q/k
 * RMSNorm (per head: Qwen3, Gemma 3; across heads: OLMo; per head after the rotary: Hunyuan), rotary (whole or
 * partial, in halves or adjacent pairs; none in SmolLM3's NoPE layers),
 * grouped-query attention, an optional sliding window and soft cap on the scores (Gemma 2), gpt-oss's per-head
 * sink logits ({@code sinks}, (H)), Qwen3.5's output gate (each head's {@code q_proj} rows hold its queries, then
 * a gate whose sigmoid scales the head's output before {@code o_proj}), Falcon-H1's factor on the keys, and
 * Ministral 3's temperature on the rotated queries (folded into their rotary tables: {@link RotaryFrequencies#queries}),
 * and Gemma 4's attention ({@link Gemma4Config}): heads of the layer's own size and count, values RMS-normalised without
 * a weight ({@code v_norm}), in full layers with {@code attention_k_eq_v} taken from the key projection (no
 * {@code v_proj}), and in its kv-shared layers no key/value projections at all: they attend over the keys and values
 * that an earlier layer put in the pass's {@link SharedKeyValues} (and keep no cache of their own).
 */
public final class DecoderAttention extends Module implements Block {
    private final DecoderConfig config;
    private final RotaryFrequencies rotary;
    private final int layerIndex;
    private final boolean rotated;
    /** The factor on the keys (Falcon-H1's {@code key_multiplier}), 1 for the other families. */
    private final float keyMultiplier;
    /** This layer's head size and key/value heads (Gemma 4's full layers differ from its sliding ones). */
    private final int headDim;
    private final int keyValueHeads;
    /** The layer whose keys and values this one attends over: itself, or a Gemma 4 kv-shared layer's source. */
    private final int keyValueSource;
    /** Whether this layer has a {@code v_proj}; without one its values are its key projection (Gemma 4's k_eq_v). */
    private final boolean valueProjection;
    /** Whether the values are RMS-normalised without a weight (Gemma 4's {@code v_norm}). */
    private final boolean valueNorm;
    /** Whether later layers of the pass attend over this layer's keys and values (Gemma 4's kv-shared layers). */
    private final boolean sharedLater;

    /**
     * The projections of layer {@code layerIndex}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param rotary the rotary frequencies of this layer's type, shared by the layers of that type
     * @param layerIndex the layer's index, which selects its slot in a KV cache and its sliding window
     */
    public DecoderAttention(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int layerIndex) {
        this.config = c;
        this.rotary = rotary;
        this.layerIndex = layerIndex;
        this.rotated = c.ropeLayers()[layerIndex];
        this.keyMultiplier = c.parallelHybrid() == null ? 1f : c.parallelHybrid().key();
        LayerShapes shapes = c.layerShapes();
        this.headDim = shapes.headDim(layerIndex);
        this.keyValueHeads = shapes.keyValueHeads(layerIndex);
        this.keyValueSource = shapes.keyValueSource(layerIndex);
        this.valueProjection = shapes.hasValueProjection(layerIndex);
        this.valueNorm = c.gemma4() != null;
        this.sharedLater = shapes.sharedLater(layerIndex);
        int q = c.numAttentionHeads() * headDim;
        int kv = keyValueHeads * headDim;
        boolean qkvBias = c.attentionBias();
        boolean oBias = c.outputBias();
        if (c.fusedProjections()) {
            registerChild("qkv_proj", new Linear(scope, c.hiddenSize(), q + 2 * kv, qkvBias));
        } else {
            registerChild("q_proj", new Linear(scope, c.hiddenSize(), c.attentionOutputGate() ? 2 * q : q, qkvBias));
            if (projectsKeyValues()) {
                registerChild("k_proj", new Linear(scope, c.hiddenSize(), kv, qkvBias));
            }
            if (valueProjection) {
                registerChild("v_proj", new Linear(scope, c.hiddenSize(), kv, qkvBias));
            }
        }
        registerChild(c.attentionNames().output(), new Linear(scope, q, c.hiddenSize(), oBias));
        if (c.attentionSinks()) {
            registerParameter("sinks", Tensor.zeros(scope, DType.F32, Shape.of(c.numAttentionHeads())));
        }
        DecoderConfig.AttentionNames names = c.attentionNames();
        if (c.qkNorm() == QkNorm.PER_HEAD_LAYER) {
            registerChild(names.queryNorm(), new HeadwiseLayerNorm(scope, c.numAttentionHeads(), headDim, c.normEps()));
            registerChild(names.keyNorm(), new HeadwiseLayerNorm(scope, keyValueHeads, headDim, c.normEps()));
        } else if (c.qkNorm() != QkNorm.NONE) {
            boolean acrossHeads = c.qkNorm() == QkNorm.ACROSS_HEADS;
            registerChild(names.queryNorm(), new RmsNorm(scope, acrossHeads ? q : headDim, c.normEps(), c.gemmaNorms()));
            if (projectsKeyValues()) {
                registerChild(names.keyNorm(), new RmsNorm(scope, acrossHeads ? kv : headDim, c.normEps(),
                        c.gemmaNorms()));
            }
        }
    }

    /** Whether this layer projects keys and values of its own (not a Gemma 4 kv-shared layer). */
    private boolean projectsKeyValues() {
        return keyValueSource == layerIndex;
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        int b = x.dim(0);
        int t = x.dim(1);
        int d = headDim;
        Tensor fused = config.fusedProjections() ? layer("qkv_proj").forward(x) : null;
        Tensor[] qkv = fused != null ? split(fused) : new Tensor[]{layer("q_proj").forward(x),
                projectsKeyValues() ? layer("k_proj").forward(x) : null,
                valueProjection ? layer("v_proj").forward(x) : null};
        Tensor gate = null;
        if (config.attentionOutputGate()) { // per head: D query rows, then D gate rows
            Tensor perHead = qkv[0].reshape(b, t, config.numAttentionHeads(), 2 * d);
            gate = perHead.slice(3, d, 2 * d).reshape(b, t, config.numAttentionHeads() * d);
            qkv[0] = perHead.slice(3, 0, d);
        }
        if (keyMultiplier != 1f) { // Falcon-H1: keys scaled before the rotation (a linear map) and the cache
            qkv[1] = Elementwise.scale(qkv[1], keyMultiplier);
        }
        Tensor q = heads(qkv[0], b, t, config.numAttentionHeads(), config.attentionNames().queryNorm(), rotary.queries(),
                ctx);
        Tensor[] kv = projectsKeyValues() ? keysAndValues(qkv, fused, q, b, t, ctx)
                : ctx.sharedKeyValues().get(keyValueSource);
        Tensor attn = Attention.scaledDotProduct(q, kv[0], kv[1],
                ctx.mask().withWindow(config.slidingWindowOf(layerIndex)), config.attentionScale(),
                config.attnLogitSoftcapping(), config.attentionSinks() ? parameter("sinks") : null,
                ctx.attentionDropout(config.dropouts().attention()));
        Tensor merged = attn.permute(0, 2, 1, 3).reshape(b, t, config.numAttentionHeads() * d);
        if (gate != null) {
            merged = Elementwise.mul(merged, Activations.apply(Activations.Kind.SIGMOID, gate));
        }
        return layer(config.attentionNames().output()).forward(merged);
    }

    /**
     * This layer's keys and values (B, Hkv, S, D), cached positions first: projected (Gemma 4's k_eq_v layers take
     * the key projection as values), normalised, rotated, appended to the cache and, where later layers share them,
     * put in the pass's {@link SharedKeyValues}.
     */
    private Tensor[] keysAndValues(Tensor[] qkv, Tensor fused, Tensor q, int b, int t, ForwardContext ctx) {
        int d = headDim;
        Tensor k = heads(qkv[1], b, t, keyValueHeads, config.attentionNames().keyNorm(), rotary, ctx);
        Tensor projectedValues = qkv[2] != null ? qkv[2] : qkv[1];
        Tensor v = projectedValues.reshape(b, t, keyValueHeads, d);
        v = (valueNorm ? unitRmsNorm(v) : v).permute(0, 2, 1, 3).contiguous();
        // a q_norm and k_norm before the rotary read the projections in their backward
        if (config.qkNorm() == QkNorm.NONE || config.qkNorm() == QkNorm.PER_HEAD_AFTER_ROTARY) {
            if (fused != null) {
                SpentActivations.free(fused, q, k, v); // its slices are views of it: freed with it, once
            } else {
                SpentActivations.free(qkv[0], q);
                SpentActivations.free(qkv[1], k);
            }
        }
        if (fused == null && !valueNorm) { // v_norm's backward reads the projection
            SpentActivations.free(qkv[2], v);
        }
        if (ctx.cache() != null) {
            Tensor[] kv = ctx.cache().extend(layerIndex, k, v);
            k = kv[0];
            v = kv[1];
        }
        if (sharedLater) {
            ctx.sharedKeyValues().put(layerIndex, k, v);
        }
        return new Tensor[]{k, v};
    }

    /** x / rms(x) over the last dimension, without a weight (Gemma 4's {@code v_norm}). */
    private Tensor unitRmsNorm(Tensor x) {
        Tensor ones = Tensor.zeros(x.device(), Shape.of(x.dim(x.rank() - 1)));
        ones.backend().copy().fill(ones, 1f);
        return Norms.rmsNorm(x, ones, config.normEps());
    }

    /** Phi-3's fused projection (B, T, (H + 2 Hkv) D) as q, k and v, in that order. */
    private Tensor[] split(Tensor fused) {
        int q = config.numAttentionHeads() * headDim;
        int kv = keyValueHeads * headDim;
        return new Tensor[]{fused.slice(2, 0, q), fused.slice(2, q, q + kv), fused.slice(2, q + kv, q + 2 * kv)};
    }

    /**
     * (B, T, H*D) -> (B, H, T, D), normalised (across heads: OLMo; per head: Qwen3, Gemma 3, Command R+'s LayerNorm)
     * and rotated by {@code frequencies} (the queries' carry Ministral 3's temperature), or rotated and then
     * normalised per head (Hunyuan).
     */
    private Tensor heads(Tensor proj, int b, int t, int h, String normName, RotaryFrequencies frequencies,
                         ForwardContext ctx) {
        if (config.qkNorm() == QkNorm.PER_HEAD_AFTER_ROTARY) {
            return layer(normName).forward(rotated(proj.reshape(b, t, h, headDim).permute(0, 2, 1, 3),
                    frequencies, ctx));
        }
        Tensor normed = config.qkNorm() == QkNorm.ACROSS_HEADS ? layer(normName).forward(proj) : proj;
        Tensor x = normed.reshape(b, t, h, headDim);
        if (config.qkNorm() == QkNorm.PER_HEAD || config.qkNorm() == QkNorm.PER_HEAD_LAYER) {
            x = layer(normName).forward(x);
        }
        return rotated(x.permute(0, 2, 1, 3), frequencies, ctx);
    }

    /** (B, H, T, D) -> (B, H, T, D), rotated where this layer rotates; contiguous either way. */
    private Tensor rotated(Tensor transposed, RotaryFrequencies frequencies, ForwardContext ctx) {
        if (!rotated) {
            return transposed.contiguous();
        }
        // rotary reads the transposed view as it is: its output is the only (B, H, T, D) copy kept
        return Rotary.apply(transposed, frequencies.table(ctx.positions(), ctx.sequenceLengths(), transposed.device()),
                config.rotaryLayout());
    }
}
