package dev.finetune4j.peft.prompt;

import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Tuner;

import java.util.Arrays;
import java.util.Map;

/**
 * Prompt tuning's virtual tokens, PEFT's {@code PromptEmbedding}: a table (P, C) prepended to every sequence's
 * input embeddings (and ones to its attention mask), so the logits gain P positions at the front. With a KV cache
 * that already holds positions (generation after the first step) nothing is prepended again.
 *
 * <p>Thread safety: not thread-safe.
 */
public final class PromptEmbedding implements Tuner {
    private final LanguageModel base;
    private final Tensor table;
    private boolean enabled = true;

    PromptEmbedding(LanguageModel base, Tensor table) {
        this.base = base;
        this.table = table;
    }

    @Override
    public Map<String, Tensor> adapterTensors() {
        return Map.of("prompt_embeddings", table);
    }

    @Override
    public int virtualTokens() {
        return enabled ? table.dim(0) : 0;
    }

    @Override
    public ModelInput prepare(ModelInput input) {
        if (!enabled || (input.cache() != null && input.cache().length() > 0)) {
            return input;
        }
        if (input.segments() != null) {
            throw new IllegalArgumentException("prompt tuning cannot be combined with packed sequences (segments): "
                    + "the virtual tokens belong to one sequence per row; turn packing off");
        }
        int b = input.batchSize();
        int p = table.dim(0);
        Tensor embeds = input.inputsEmbeds() != null ? input.inputsEmbeds() : base.embed(input.inputIds());
        Tensor virtual = table.reshape(1, p, table.dim(1));
        Tensor[] parts = new Tensor[b];
        Arrays.fill(parts, virtual);
        Tensor prefix = b == 1 ? virtual : Concat.cat(0, parts);
        long[][] mask = null;
        if (input.attentionMask() != null) {
            mask = new long[b][];
            for (int i = 0; i < b; i++) {
                long[] row = input.attentionMask()[i];
                mask[i] = new long[p + row.length];
                Arrays.fill(mask[i], 0, p, 1L);
                System.arraycopy(row, 0, mask[i], p, row.length);
            }
        }
        return input.withEmbeds(Concat.cat(1, prefix, embeds), mask);
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }

    @Override
    public void unload() {
        // nothing in the base model's tree changed
    }
}
