package dev.finetune4j.peft.train;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.optim.AdamW;
import dev.finetune4j.core.optim.AdamWConfig;
import dev.finetune4j.core.optim.GradientClipping;
import dev.finetune4j.core.optim.LrSchedule;
import dev.finetune4j.core.optim.OptimizerState;
import dev.finetune4j.core.optim.TensorNorms;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * The update half of a step over the trainable parameters, composed from {@code core.optim}: global-norm
 * clipping ({@link GradientClipping}, as {@code clip_grad_norm_}), {@link AdamW} (as {@code torch.optim.AdamW})
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
    /** The 1-based number of the last update whose parameters have not been checked for finiteness; 0 when none. */
    private int uncheckedUpdate;

    Optimization(Map<String, Tensor> parameters, TrainingConfig cfg, int totalSteps) {
        this.names = List.copyOf(parameters.keySet());
        this.values = names.stream().map(parameters::get).toList();
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
        return maxGradNorm > 0 ? GradientClipping.clipGlobalNorm(values, maxGradNorm) : GradientClipping.globalNorm(values);
    }

    /**
     * One AdamW update with learning rate {@code lr}; its parameters are checked for finiteness later, by
     * {@link #guardNormsOn} with the next step's loss or by {@link #requireFiniteParameters()}.
     *
     * @param update the 1-based number of this update, for the guard's message
     */
    void step(double lr, int update) {
        adamW.setLearningRate(lr);
        adamW.step();
        uncheckedUpdate = update;
    }

    /**
     * The guard after an update whose loss and gradients were finite: a NaN or infinite weight then comes from the
     * optimizer state (a corrupt checkpoint) or an overflowing update, and every later step would be NaN. So that a
     * step reads nothing but its loss (issue 17), the trainer computes the norms on the device with this method and
     * reads them with the next step's loss (the parameters do not change in between), then passes them to
     * {@link #requireFinite(float[])}.
     *
     * @param device the device the loss is read from
     * @return one norm per parameter (non-finite exactly when an element is), in the current scope; null when every
     *         update has been checked or a parameter lives on another device (then {@link #requireFiniteParameters()}
     *         checks on the host)
     */
    Tensor guardNormsOn(Device device) {
        if (uncheckedUpdate == 0 || values.stream().anyMatch(t -> !t.device().equals(device))) {
            return null;
        }
        return TensorNorms.l2Vector(device, values);
    }

    /**
     * Checks the norms that {@link #guardNormsOn} computed, read back.
     *
     * @param norms the norms, in the order {@link #guardNormsOn} gave them
     * @throws TrainingDivergedException naming the parameter and the update that made it non-finite
     */
    void requireFinite(float[] norms) {
        for (int k = 0; k < norms.length; k++) {
            if (!Float.isFinite(norms[k])) {
                throw new TrainingDivergedException(uncheckedUpdate, "the AdamW update made parameter '" + names.get(k)
                        + "' non-finite (NaN or infinite) although the loss and gradients were finite: the optimizer "
                        + "state is corrupt (resumed from a damaged checkpoint?) or the update overflowed; resume from "
                        + "an earlier checkpoint or lower learningRate");
            }
        }
        uncheckedUpdate = 0;
    }

    /**
     * The guard on the host, one read, when an update has not been checked yet: before anything that uses the
     * parameters outside a training step (an evaluation, a checkpoint, the end of training) and for a step that reads
     * no loss.
     *
     * @throws TrainingDivergedException naming the parameter and the update that made it non-finite
     */
    void requireFiniteParameters() {
        if (uncheckedUpdate != 0) {
            requireFinite(TensorNorms.l2(values));
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
