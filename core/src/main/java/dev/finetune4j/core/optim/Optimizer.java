package dev.finetune4j.core.optim;

/**
 * Updates a fixed, named set of float32 parameters from their gradients ({@code Tensor.grad()}), as the
 * matching {@code torch.optim} class does, operation for operation in float32.
 *
 * <pre>{@code
 * try (Optimizer opt = new AdamW(model.namedParameters(), AdamWConfig.of(2e-4))) {
 *     LrSchedule schedule = LrSchedule.cosineWithWarmup(100, 1000);
 *     for (int step = 0; step < 1000; step++) {
 *         opt.setLearningRate(2e-4 * schedule.multiplier(step));
 *         ... forward, backward ...
 *         GradientClipping.clipGlobalNorm(params, 1.0);
 *         opt.step();
 *         opt.zeroGrad();
 *     }
 * }   // frees the optimizer state
 * }</pre>
 *
 * <p>The state (moments, momentum buffers) is float32 tensors on each parameter's device, owned by the optimizer
 * and freed by {@link #close()}; the parameters and gradients stay the caller's. State is exported and imported
 * exactly ({@link OptimizerState}, host copies), so a resumed run continues bit for bit.
 * Not thread-safe: one training loop owns an optimizer.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * One update with the current learning rate; parameters whose gradient is null are left alone (as torch). Every
     * gradient is checked before anything changes, so a refused step leaves the parameters and counts as they were.
     *
     * @throws IllegalStateException after {@link #close()}, or when a gradient is not a contiguous F32 tensor of its
     *                               parameter's size on its device
     */
    void step();

    /**
     * One update that {@code gate} decides on the device: skipped when it is closed, with every gradient scaled by
     * its clip coefficient when open. Nothing is read back; until {@link #settle(boolean)} says whether it was
     * applied, the optimizer cannot step again or export its state.
     *
     * @param gate the step's gate, on the parameters' device
     * @throws IllegalStateException after {@link #close()}, when the previous gated step was not settled, or when a
     *                               gradient is not a contiguous F32 tensor of its parameter's size on its device
     */
    void step(UpdateGate gate);

    /**
     * Settles the last {@link #step(UpdateGate) gated step} once its gate has been read: a skipped step counts as no
     * step (the step counts, and with them AdamW's bias corrections, stay as they were).
     *
     * @param applied whether the gate was open ({@link UpdateGate.Reading#open()})
     * @throws IllegalStateException when no gated step is waiting to be settled
     */
    void settle(boolean applied);

    /** Sets every gradient to zero in place (torch's {@code zero_grad(set_to_none=False)}). */
    void zeroGrad();

    /**
     * The learning rate the next {@link #step()} uses.
     *
     * @return the current learning rate
     */
    double learningRate();

    /**
     * Sets the learning rate the next {@link #step()} uses, e.g. the base rate times a schedule's multiplier.
     *
     * @param lr the new learning rate, finite and {@code >= 0}
     * @throws IllegalArgumentException when {@code lr} is negative or not finite
     */
    void setLearningRate(double lr);

    /**
     * Updates taken so far (gated steps that were skipped excluded).
     *
     * @return the number of steps taken
     */
    long steps();

    /**
     * A host copy of the state, for a checkpoint.
     *
     * @return the step count, per-parameter step counts and every state slot
     * @throws IllegalStateException after {@link #close()}
     */
    OptimizerState exportState();

    /**
     * Restores what {@link #exportState()} returned, for the same parameter names and sizes.
     *
     * @param state a state exported from an optimizer of the same kind over the same parameters
     * @throws IllegalArgumentException naming the parameter and slot that is missing, has the wrong size or is not
     *                                  one this optimizer holds
     * @throws IllegalStateException    after {@link #close()}
     */
    void importState(OptimizerState state);

    /** Frees the optimizer state on the devices (not the parameters or gradients); idempotent. */
    @Override
    void close();
}
