package dev.finetune4j.peft.prefix;

import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.LinearInit;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftMethod;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Prefix tuning's {@link PeftMethod}: creates the {@link PrefixEncoder} for a causal LM, sized from the model as
 * PEFT sizes it (grouped-query attention: key/value heads, not query heads).
 *
 * <p>Thread safety: stateless.
 */
public final class PrefixInjector extends PeftMethod<PrefixTuningConfig> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public PrefixInjector() {
        super(PrefixTuningConfig.PEFT_TYPE, "prefix", PrefixTuningConfig.class, PrefixTuningConfig::fromJson);
    }

    /**
     * Creates the prefix table (and the reparameterising MLP when configured and not loading), sized from the
     * causal LM's layers, key/value heads and head size. When {@code ctx.forLoading()} the table will be
     * overwritten from a file: PEFT saves the table (the MLP's output), so a loaded prefix never has the MLP.
     *
     * @param ctx the causal LM, the scope and seed of the new weights
     * @param cfg virtual tokens and the optional MLP
     * @return the encoder that produces every layer's prefix keys and values
     */
    @Override
    public PrefixEncoder inject(PeftContext ctx, PrefixTuningConfig cfg) {
        String shapes = ctx.requireCausalLm("prefix tuning").keyValueShapesDiffer();
        if (shapes != null) {
            // NOTE: PEFT 0.21 lays out the widest layer's shape, cuts it down for narrower layers and skips shared ones
            // with a warning; a prefix of one shape cannot be right for all of them, so this refuses instead
            throw new PeftException("prefix tuning lays out one shape of keys and values for every layer ("
                    + ctx.spec().numKeyValueHeads() + " heads of " + ctx.spec().headDim() + "), but in this "
                    + ctx.modelType() + " model " + shapes + ": use LoRA, DoRA or IA3, which adapt the projections "
                    + "whatever their shape");
        }
        if (ctx.requireCausalLm("prefix tuning").hasRecurrentLayers()) {
            throw new PeftException("prefix tuning prepends keys and values to every layer's attention, but "
                    + ctx.modelType() + " has recurrent layers (linear attention or Mamba-2), which mix tokens through a "
                    + "state instead: "
                    + "use prompt tuning (virtual tokens at the input) or LoRA");
        }
        ctx.requireRoomFor(cfg.numVirtualTokens());
        ModelSpec spec = ctx.spec();
        boolean forLoading = ctx.forLoading();
        int width = PrefixEncoder.kvWidth(spec);
        int p = cfg.numVirtualTokens();
        SplittableRandom random = new SplittableRandom(ctx.seed());
        PrefixEncoder encoder;
        if (cfg.prefixProjection() && !forLoading) {
            int h = cfg.encoderHiddenSize() == 0 ? width : cfg.encoderHiddenSize();
            Tensor embedding = normal(ctx, Shape.of(p, width), random);
            Linear hidden = new Linear(ctx.scope(), width, h, true);
            Linear output = new Linear(ctx.scope(), h, spec.numLayers() * 2 * width, true);
            hidden.stateDict().values().forEach(t -> LinearInit.fanInUniform(t, hidden.inFeatures(), random));
            output.stateDict().values().forEach(t -> LinearInit.fanInUniform(t, output.inFeatures(), random));
            encoder = new PrefixEncoder(spec, null, embedding, hidden, output);
        } else {
            encoder = new PrefixEncoder(spec, normal(ctx, Shape.of(p, spec.numLayers() * 2 * width), random));
        }
        encoder.adapterTensors().values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return encoder;
    }

    /**
     * The model-derived fields PEFT writes into adapter_config.json for prefix tuning.
     *
     * @param cfg the prefix configuration
     * @param spec the causal LM's shape facts
     * @return the fields ({@code num_layers}, {@code token_dim}, ...) in PEFT's names
     */
    @Override
    public Map<String, Object> configFacts(PrefixTuningConfig cfg, ModelSpec spec) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("num_layers", spec.numLayers());
        facts.put("num_attention_heads", spec.numKeyValueHeads());
        facts.put("token_dim", PrefixEncoder.kvWidth(spec));
        facts.put("num_transformer_submodules", 1);
        facts.put("encoder_hidden_size", cfg.encoderHiddenSize() == 0 ? PrefixEncoder.kvWidth(spec) : cfg.encoderHiddenSize());
        return facts;
    }

    /** nn.Embedding's default init, N(0, 1). */
    private static Tensor normal(PeftContext ctx, Shape shape, SplittableRandom random) {
        Tensor t = Tensor.zeros(ctx.scope(), DType.F32, shape);
        StateDicts.fill(t, () -> StateDicts.gaussian(random));
        return t;
    }
}
