package dev.finetune4j.peft.prompt;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftMethod;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Prompt tuning's {@link PeftMethod}: creates the {@link PromptEmbedding} of a causal LM, N(0, 1) rows (PEFT's
 * RANDOM init) or copies of the embeddings of init-text token ids (PEFT's TEXT init).
 *
 * <p>Thread safety: stateless.
 */
public final class PromptInjector extends PeftMethod<PromptTuningConfig> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public PromptInjector() {
        super(PromptTuningConfig.PEFT_TYPE, "prompt", PromptTuningConfig.class, PromptTuningConfig::fromJson);
    }

    /**
     * Creates the virtual-token table, (numVirtualTokens, C), from the causal LM's embeddings (their width and
     * the TEXT initialisation).
     *
     * @param ctx the causal LM, the scope and seed of the new table
     * @param cfg the number of virtual tokens and the initialisation
     * @return the prompt embedding, prepended to the input embeddings at forward time
     */
    @Override
    public PromptEmbedding inject(PeftContext ctx, PromptTuningConfig cfg) {
        LanguageModel base = ctx.requireCausalLm("prompt tuning");
        ctx.requireRoomFor(cfg.numVirtualTokens());
        int p = cfg.numVirtualTokens();
        int c = base.spec().hiddenSize();
        Tensor table = Tensor.zeros(ctx.scope(), DType.F32, Shape.of(p, c));
        List<Long> ids = cfg.initTokenIds();
        if (ids == null) {
            SplittableRandom random = new SplittableRandom(ctx.seed());
            StateDicts.fill(table, () -> StateDicts.gaussian(random));
        } else {
            try (var scope = dev.finetune4j.core.tensor.TensorScope.open()) {
                long[][] tokens = new long[1][p];
                for (int i = 0; i < p; i++) {
                    tokens[0][i] = ids.get(i % ids.size());
                }
                table.copyFrom(base.embed(tokens).toFloatArray());
            }
        }
        table.requiresGrad(ctx.trainable());
        return new PromptEmbedding(base, table);
    }

    /**
     * The model-derived fields PEFT writes into adapter_config.json for prompt tuning.
     *
     * @param cfg the prompt configuration
     * @param spec the causal LM's shape facts
     * @return the fields ({@code token_dim}, ...) in PEFT's names
     */
    @Override
    public Map<String, Object> configFacts(PromptTuningConfig cfg, ModelSpec spec) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("num_layers", spec.numLayers());
        facts.put("num_attention_heads", spec.numHeads());
        facts.put("token_dim", spec.hiddenSize());
        facts.put("num_transformer_submodules", 1);
        return facts;
    }
}
