package dev.finetune4j.peft.train;

import java.util.Map;

/**
 * One evaluation on the validation data.
 *
 * @param step       optimizer step after which it ran
 * @param loss       mean validation loss (per label token for SFT, per pair for DPO)
 * @param perplexity {@code exp(loss)} when the loss is a per-token cross-entropy (SFT); NaN for the other objectives,
 *                   whose loss has no perplexity
 * @param improved   true when this loss is the best so far by at least the early-stopping threshold
 * @param extra      objective-specific means (DPO: rewards/margins, rewards/accuracies, ...)
 */
public record EvalMetrics(int step, double loss, double perplexity, boolean improved, Map<String, Double> extra) {

    /** Copies the extra metrics. */
    public EvalMetrics {
        extra = Map.copyOf(extra);
    }
}
