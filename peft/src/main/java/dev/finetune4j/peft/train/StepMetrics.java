package dev.finetune4j.peft.train;

import dev.finetune4j.core.backend.MemoryStats;

import java.time.Duration;
import java.util.Map;

/**
 * What one optimizer step did, as reported to {@link TrainingListener#onStep}.
 *
 * @param step            1-based optimizer step
 * @param totalSteps      steps the run will take
 * @param epoch           epochs done so far, fractional (1.5 = half-way through the second pass)
 * @param loss            training loss of the step (mean over its loss units: label tokens for SFT, pairs for DPO)
 * @param learningRate    learning rate applied at this step
 * @param gradNorm        global gradient norm before clipping
 * @param tokensPerSecond tokens (padding excluded) processed per second in this step
 * @param eta             estimated time to the last step
 * @param skipped         true when the loss or a gradient was NaN/Inf and the update was skipped
 * @param extra           objective-specific means (DPO: rewards/margins, rewards/accuracies, ...)
 * @param memory          tensor bytes allocated on the trained parameters' device after the step, and the peak
 */
public record StepMetrics(int step, int totalSteps, double epoch, double loss, double learningRate, double gradNorm,
                          double tokensPerSecond, Duration eta, boolean skipped, Map<String, Double> extra,
                          MemoryStats memory) {

    /** Copies the extra metrics. */
    public StepMetrics {
        extra = Map.copyOf(extra);
    }
}
