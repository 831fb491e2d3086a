package dev.finetune4j.peft.prompt;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PromptTuningConfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Creates the {@link PromptEmbedding} of a causal LM: N(0, 1) rows (PEFT's RANDOM init) or copies of the
 * embeddings of init-text token ids (PEFT's TEXT init).
 *
 * <p>Thread safety: stateless.
 */
public final class PromptInjector {
    private PromptInjector() {
    }

    /**
     * Creates the virtual-token table, (numVirtualTokens, C).
     *
     * @param ctx the scope and seed of the new table
     * @param base the causal LM, whose embeddings give the width and the TEXT initialisation
     * @param cfg the number of virtual tokens and the initialisation
     * @return the prompt embedding, prepended to the input embeddings at forward time
     */
    public static PromptEmbedding inject(PeftContext ctx, LanguageModel base, PromptTuningConfig cfg) {
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
     * @param base the causal LM
     * @return the fields ({@code token_dim}, ...) in PEFT's names
     */
    public static Map<String, Object> configFacts(LanguageModel base) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("num_layers", base.spec().numLayers());
        facts.put("num_attention_heads", base.spec().numHeads());
        facts.put("token_dim", base.spec().hiddenSize());
        facts.put("num_transformer_submodules", 1);
        return facts;
    }
}
