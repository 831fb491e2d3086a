package dev.finetune4j.peft.train;

import dev.finetune4j.core.optim.AdamW;
import dev.finetune4j.core.optim.AdamWConfig;
import dev.finetune4j.core.optim.GradientClipping;
import dev.finetune4j.core.optim.LrSchedule;
import dev.finetune4j.core.optim.OptimizerState;
import dev.finetune4j.core.optim.TensorNorms;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The update half of a step over the trainable parameters, composed from {@code core.optim}: global-norm
 * clipping ({@link GradientClipping}, as {@code clip_grad_norm_}), {@link AdamW} (as {@code torch.optim.AdamW})
 * and the schedule ({@link LrSchedule}, as Hugging Face's {@code LambdaLR} schedules with warm-up). Closing it
 * frees AdamW's state.
 */
final class Optimization implements AutoCloseable {
    private final Map<String, Tensor> named;
    private final Collection<Tensor> params;
    private final AdamW adamW;
    private final LrSchedule schedule;
    private final double peakLearningRate;
    private final double maxGradNorm;

    Optimization(Map<String, Tensor> parameters, TrainingConfig cfg, int totalSteps) {
        this.named = Map.copyOf(parameters);
        this.params = List.copyOf(parameters.values());
        this.adamW = new AdamW(parameters, new AdamWConfig(cfg.learningRate(), cfg.adamBeta1(), cfg.adamBeta2(),
                cfg.adamEpsilon(), cfg.weightDecay()));
        this.schedule = new LrSchedule(cfg.schedule().type(), cfg.warmupStepsFor(totalSteps), totalSteps);
        this.peakLearningRate = cfg.learningRate();
        this.maxGradNorm = cfg.maxGradNorm();
    }

    /** Learning rate of optimizer step {@code step} (0-based): the peak times the schedule's multiplier. */
    double learningRate(int step) {
        return peakLearningRate * schedule.multiplier(step);
    }

    /**
     * The global gradient norm before clipping, clipping to {@code maxGradNorm} when it is set. NaN or infinite
     * when a gradient element is; the gradients are then unusable and the step must be skipped.
     */
    double clipGradients() {
        return maxGradNorm > 0 ? GradientClipping.clipGlobalNorm(params, maxGradNorm) : GradientClipping.globalNorm(params);
    }

    /** One AdamW update with learning rate {@code lr}. */
    void step(double lr) {
        adamW.setLearningRate(lr);
        adamW.step();
    }

    /**
     * The guard after an update whose loss and gradients were finite: a NaN or infinite weight then comes from the
     * optimizer state (a corrupt checkpoint) or an overflowing update, and every later step would be NaN.
     *
     * @throws TrainingDivergedException naming the parameter
     */
    void requireFiniteParameters(int step) {
        List<String> names = new ArrayList<>(named.keySet());
        // one norm per parameter, computed on its device: non-finite exactly when an element is
        float[] norms = TensorNorms.l2(names.stream().map(named::get).toList());
        for (int k = 0; k < norms.length; k++) {
            if (!Float.isFinite(norms[k])) {
                throw new TrainingDivergedException(step, "the AdamW update made parameter '" + names.get(k)
                        + "' non-finite (NaN or infinite) although the loss and gradients were finite: the optimizer "
                        + "state is corrupt (resumed from a damaged checkpoint?) or the update overflowed; resume from "
                        + "an earlier checkpoint or lower learningRate");
            }
        }
    }

    /** Sets every gradient to zero in place. */
    void zeroGrad() {
        adamW.zeroGrad();
    }

    /** AdamW updates taken (skipped steps excluded). */
    long adamSteps() {
        return adamW.steps();
    }

    /** AdamW's moments and step counts, for a checkpoint. */
    OptimizerState exportState() {
        return adamW.exportState();
    }

    /** Restores what {@link #exportState()} gave. */
    void importState(OptimizerState state) {
        adamW.importState(state);
    }

    @Override
    public void close() {
        adamW.close();
    }
}
