package dev.finetune4j.peft.train;

import java.util.Map;

/**
 * One evaluation on the validation data.
 *
 * @param step       optimizer step after which it ran
 * @param loss       mean validation loss (per label token for SFT, per pair for DPO)
 * @param perplexity {@code exp(loss)} (meaningful for SFT)
 * @param improved   true when this loss is the best so far by at least the early-stopping threshold
 * @param extra      objective-specific means (DPO: rewards/margins, rewards/accuracies, ...)
 */
public record EvalMetrics(int step, double loss, double perplexity, boolean improved, Map<String, Double> extra) {

    /** Copies the extra metrics. */
    public EvalMetrics {
        extra = Map.copyOf(extra);
    }
}
