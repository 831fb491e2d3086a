package dev.finetune4j.peft.train;

import dev.finetune4j.core.optim.AdamW;
import dev.finetune4j.core.optim.AdamWConfig;
import dev.finetune4j.core.optim.LrSchedule;
import dev.finetune4j.core.optim.OptimizerState;
import dev.finetune4j.core.optim.TensorNorms;
import dev.finetune4j.core.optim.UpdateGate;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * The update half of a step over the trainable parameters, composed from {@code core.optim}: global-norm
 * clipping and the skip of non-finite steps decided on the device ({@link UpdateGate}, as {@code clip_grad_norm_}),
 * {@link AdamW} (as {@code torch.optim.AdamW})
 * and the schedule ({@link LrSchedule}, as Hugging Face's {@code LambdaLR} schedules with warm-up). Closing it
 * frees AdamW's state.
 */
final class Optimization implements AutoCloseable {
    private final List<String> names;
    private final List<Tensor> values;
    private final AdamW adamW;
    private final LrSchedule schedule;
    private final double peakLearningRate;
    private final double maxGradNorm;

    Optimization(Map<String, Tensor> parameters, TrainingConfig cfg, int totalSteps) {
        this.names = List.copyOf(parameters.keySet());
        this.values = names.stream().map(parameters::get).toList();
        this.adamW = new AdamW(parameters, new AdamWConfig(cfg.learningRate(), cfg.adamBeta1(), cfg.adamBeta2(),
                cfg.adamEpsilon(), cfg.weightDecay()));
        this.schedule = new LrSchedule(cfg.schedule().type(), cfg.warmupStepsFor(totalSteps), totalSteps);
        this.peakLearningRate = cfg.learningRate();
        this.maxGradNorm = cfg.maxGradNorm();
    }

    /** The trainable parameters, float32 masters. */
    List<Tensor> parameters() {
        return values;
    }

    /** Learning rate of optimizer step {@code step} (0-based): the peak times the schedule's multiplier. */
    double learningRate(int step) {
        return peakLearningRate * schedule.multiplier(step);
    }

    /**
     * Decides the step on the device ({@link UpdateGate}): clipped to {@code maxGradNorm} when it is set, skipped
     * unless every loss and the gradient norm are finite.
     *
     * @param losses the step's losses, one per micro-batch, on the parameters' device
     */
    UpdateGate gate(Tensor losses) {
        return UpdateGate.of(values, losses, maxGradNorm);
    }

    /**
     * One AdamW update with learning rate {@code lr} that {@code gate} decides on the device; {@link #settle} it once
     * the gate has been read.
     */
    void step(double lr, UpdateGate gate) {
        adamW.setLearningRate(lr);
        adamW.step(gate);
    }

    /**
     * The parameters' norms on the device, in the current scope, to be read with the step's loss: the guard after
     * an update, as a NaN or infinite weight makes its norm non-finite ({@link #settle}).
     */
    Tensor parameterNorms() {
        return TensorNorms.l2Vector(values.getFirst().device(), values);
    }

    /**
     * Settles the step that {@link #step(double, UpdateGate)} took, from what was read back.
     *
     * @param update the 1-based number of the step, for the message
     * @param applied whether the gate was open
     * @param norms the {@link #parameterNorms()} after the update, read back
     * @throws TrainingDivergedException naming the parameter when an applied update made it non-finite although
     *                                   the loss and gradients were finite: the optimizer state is corrupt (a
     *                                   damaged checkpoint) or the update overflowed, and every later step would be
     *                                   NaN
     */
    void settle(int update, boolean applied, float[] norms) {
        adamW.settle(applied);
        for (int k = 0; applied && k < norms.length; k++) {
            if (!Float.isFinite(norms[k])) {
                throw new TrainingDivergedException(update, "the AdamW update made parameter '" + names.get(k)
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
