package dev.finetune4j.peft.prefix;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PrefixTuningConfig;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Creates the {@link PrefixEncoder} for a causal LM, sized from the model as PEFT sizes it (grouped-query
 * attention: key/value heads, not query heads).
 *
 * <p>Thread safety: stateless.
 */
public final class PrefixInjector {
    private PrefixInjector() {
    }

    /**
     * Creates the prefix table (and the reparameterising MLP when configured and not loading).
     *
     * @param ctx the scope and seed of the new weights
     * @param base the causal LM, whose layers, key/value heads and head size size the table
     * @param cfg virtual tokens and the optional MLP
     * @param forLoading true when the table will be overwritten from a file: PEFT saves the table (the MLP's
     *                   output), so a loaded prefix never has the MLP
     * @return the encoder that produces every layer's prefix keys and values
     */
    public static PrefixEncoder inject(PeftContext ctx, LanguageModel base, PrefixTuningConfig cfg, boolean forLoading) {
        ModelSpec spec = base.spec();
        int width = PrefixEncoder.kvWidth(spec);
        int p = cfg.numVirtualTokens();
        SplittableRandom random = new SplittableRandom(ctx.seed());
        PrefixEncoder encoder;
        if (cfg.prefixProjection() && !forLoading) {
            int h = cfg.encoderHiddenSize() == 0 ? width : cfg.encoderHiddenSize();
            Tensor embedding = normal(ctx, Shape.of(p, width), random);
            Linear hidden = new Linear(ctx.scope(), width, h, true);
            Linear output = new Linear(ctx.scope(), h, spec.numLayers() * 2 * width, true);
            uniformInit(hidden, random);
            uniformInit(output, random);
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
     * @param base the causal LM
     * @param cfg the prefix configuration
     * @return the fields ({@code num_layers}, {@code token_dim}, ...) in PEFT's names
     */
    public static Map<String, Object> configFacts(LanguageModel base, PrefixTuningConfig cfg) {
        ModelSpec spec = base.spec();
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

    /** nn.Linear's default init: weight and bias U(-1/sqrt(in), 1/sqrt(in)). */
    private static void uniformInit(Linear l, SplittableRandom random) {
        double bound = 1 / Math.sqrt(l.inFeatures());
        for (Tensor t : l.stateDict().values()) {
            StateDicts.fill(t, () -> (random.nextDouble() * 2 - 1) * bound);
        }
    }
}
