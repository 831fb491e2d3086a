package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.decoder.DecoderForSequenceClassification;
import dev.finetune4j.peft.PeftClassifier;

import java.util.OptionalLong;

/**
 * The padding id of a classifier's micro-batches: a decoder finds each row's last token by its config's
 * {@code pad_token_id}, so batches must be padded with that id, and without one only single-row batches work.
 */
final class ClassifierPadding {
    private ClassifierPadding() {
    }

    /**
     * The id to pad with: the classifier's {@code pad_token_id} when its config has one, else the builder's.
     *
     * @param model         the classifier, or null (the builder reports it missing)
     * @param config        the training settings, or null
     * @param padTokenId    the builder's padding id
     * @param padTokenIdSet whether the user set it
     */
    static long resolve(PeftClassifier model, TrainingConfig config, long padTokenId, boolean padTokenIdSet) {
        if (model == null) {
            return padTokenId;
        }
        OptionalLong pad = model.classifierConfig().padTokenId();
        if (pad.isPresent() && padTokenIdSet && padTokenId != pad.getAsLong()) {
            throw new IllegalArgumentException("padTokenId " + padTokenId + " differs from the classifier's "
                    + "pad_token_id " + pad.getAsLong() + ", by which a decoder finds each row's last token: leave "
                    + "padTokenId unset");
        }
        if (pad.isPresent()) {
            return pad.getAsLong();
        }
        if (model.base() instanceof DecoderForSequenceClassification && config != null && config.microBatchSize() > 1) {
            throw new IllegalArgumentException("the classifier's config has no pad_token_id, so a padded row's "
                    + "last token cannot be found: set it when loading (ClassifierConfig.withPadTokenId, usually "
                    + "the tokenizer's pad or eos id) or train with microBatchSize(1)");
        }
        return padTokenId;
    }
}
