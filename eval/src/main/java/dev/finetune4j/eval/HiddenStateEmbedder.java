package dev.finetune4j.eval;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Embeds texts with one of our own causal LMs: the mean of its final hidden states over the text's tokens
 * (one text per forward pass, so no padding enters the mean). Long texts are cut to {@code maxTokens}.
 *
 * <pre>{@code
 * TextEmbedder embedder = new HiddenStateEmbedder(model, tokenizer, 256);
 * }</pre>
 *
 * Thread-safe as long as the model is not being trained concurrently.
 */
public final class HiddenStateEmbedder implements TextEmbedder {
    private final LanguageModel model;
    private final Tokenizer tokenizer;
    private final int maxTokens;

    /**
     * An embedder that reads the final hidden states of {@code model}.
     *
     * @param model the causal LM whose hidden states become the embeddings
     * @param tokenizer the tokenizer of that model
     * @param maxTokens the most tokens embedded per text, at least 1; capped at the model's maximum positions
     */
    public HiddenStateEmbedder(LanguageModel model, Tokenizer tokenizer, int maxTokens) {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxTokens = Math.min(maxTokens, model.maxPositionEmbeddings());
    }

    @Override
    public float[][] embed(List<String> texts) {
        float[][] out = new float[texts.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = embedOne(texts.get(i));
        }
        return out;
    }

    private float[] embedOne(String text) {
        long[] ids = tokenizer.encode(text);
        if (ids.length == 0) {
            ids = new long[]{tokenizer.bosTokenId().orElse(0)};
        }
        ids = Arrays.copyOf(ids, Math.min(ids.length, maxTokens));
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            Tensor hidden = model.hiddenStates(ModelInput.of(new long[][]{ids}, null)); // (1, T, C)
            int t = hidden.dim(1);
            int c = hidden.dim(2);
            float[] h = hidden.toFloatArray();
            float[] mean = new float[c];
            for (int p = 0; p < t; p++) {
                for (int j = 0; j < c; j++) {
                    mean[j] += h[p * c + j] / t;
                }
            }
            return mean;
        }
    }
}
