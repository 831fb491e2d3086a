package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.TokenTypeIds;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.SplittableRandom;

/**
 * A decoder family (LLaMA, Mistral, Qwen2, Qwen3, Gemma 1-3, Phi-3) as transformers'
 * {@code *ForSequenceClassification}: the decoder's final hidden states, then {@code score} (a bias-free linear
 * map to the labels) at each row's last token that is not {@code pad_token_id}. The module tree is
 * {@code model.*} (the decoder's own backbone, shared with a {@link DecoderModel} built without {@code lm_head})
 * and {@code score}, the names transformers saves.
 *
 * <p>NOTE: as transformers, the pooled position comes from the ids, not the attention mask: the rightmost token that
 * is not the pad id (so left and right padding both work, and a pad id inside the text is skipped when it ends a
 * row), position 0 for a row of pads only. Without a pad id only single rows are accepted.
 *
 * <p>In training mode the decoder's dropouts apply as in its causal model ({@link DecoderConfig#dropouts}), drawn
 * from the decoder's stream.
 */
public final class DecoderForSequenceClassification extends SequenceClassifierModule {
    private final DecoderModel decoder;
    private final ClassifierConfig classifier;

    /**
     * Builds the module tree with zero weights in {@code scope}; load or initialise them afterwards.
     *
     * @param scope      owns the weights
     * @param config     the decoder's configuration
     * @param classifier the labels, problem type and pad id
     */
    public DecoderForSequenceClassification(TensorScope scope, DecoderConfig config, ClassifierConfig classifier) {
        this.decoder = new DecoderModel(scope, config, false);
        this.classifier = classifier;
        registerChild("model", decoder.child("model"));
        registerChild("score", new Linear(scope, config.hiddenSize(), classifier.numLabels(), false));
    }

    /**
     * The decoder's configuration.
     *
     * @return the configuration
     */
    public DecoderConfig config() {
        return decoder.config();
    }

    @Override
    public void seedDropout(long seed) {
        decoder.seedDropout(seed);
    }

    @Override
    public SplittableRandom dropoutRandom() {
        return decoder.dropoutRandom();
    }

    @Override
    public ClassifierConfig classifierConfig() {
        return classifier;
    }

    /**
     * Class scores (B, numLabels) with autograd: {@code score} of the hidden state at each row's pooled position.
     *
     * @param ids  token ids, B rows of T
     * @param mask 1 for real tokens and 0 for padding, same shape as {@code ids}, or null for all real
     * @param types null, or all 0: a decoder has no token types (transformers' decoder classifiers take no
     *              {@code token_type_ids}; a pair is read from the tokens alone)
     * @return the logits, (B, numLabels)
     * @throws IllegalArgumentException for a type id other than 0, naming its row and column
     */
    @Override
    public Tensor forward(long[][] ids, long[][] mask, long[][] types) {
        TokenTypeIds.check(types, ids, 0, config().modelType());
        long[][] pooled = pooledPositions(ids);
        // the decoder owning the backbone is not in this tree, so train(...) did not reach it
        decoder.train(isTraining());
        Tensor hidden = decoder.hiddenStates(ModelInput.of(ids, mask));
        int b = hidden.dim(0);
        int c = hidden.dim(2);
        // hidden (B, T, C) -> rows (B * T, C); row b * T + last(b) -> (B, 1, C) -> (B, C)
        Tensor rows = EmbeddingLookup.lookup(hidden.reshape(b * hidden.dim(1), c), pooled).reshape(b, c);
        return layer("score").forward(rows); // a Layer: PEFT's modules_to_save may wrap the head
    }

    /**
     * Row {@code b}'s flat index {@code b * T + last(b)} into its (B * T) hidden states, as a [B][1] id table.
     *
     * @throws IllegalArgumentException for several rows without a pad id
     */
    private long[][] pooledPositions(long[][] ids) {
        int t = ids.length == 0 ? 0 : ids[0].length;
        if (classifier.padTokenId().isEmpty() && ids.length != 1) {
            throw new IllegalArgumentException("config.json has no pad_token_id, so the last real token of a padded row "
                    + "cannot be found: classify one row at a time, or set pad_token_id (usually the tokenizer's pad or "
                    + "eos id) in config.json");
        }
        long[][] out = new long[ids.length][1];
        for (int b = 0; b < ids.length; b++) {
            int last = t - 1;
            if (classifier.padTokenId().isPresent()) {
                long pad = classifier.padTokenId().getAsLong();
                last = 0;
                for (int j = t - 1; j > 0; j--) {
                    if (ids[b][j] != pad) {
                        last = j;
                        break;
                    }
                }
            }
            out[b][0] = (long) b * t + last;
        }
        return out;
    }

    @Override
    public int numLabels() {
        return classifier.numLabels();
    }

    /** The decoder's shape facts (its model type picks PEFT's default target modules). */
    @Override
    public ModelSpec spec() {
        return decoder.spec();
    }

    @Override
    public TensorScope parameterScope() {
        return decoder.parameterScope();
    }

    @Override
    public void gradientCheckpointing(boolean on) {
        decoder.gradientCheckpointing(on);
    }

    @Override
    public void close() {
        decoder.close();
    }
}
