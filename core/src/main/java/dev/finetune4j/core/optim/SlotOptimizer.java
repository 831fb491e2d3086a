package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * What AdamW and SGD share: the named parameters with their per-parameter state slots (device tensors this
 * optimizer owns until {@link #close()}), the learning rate, the step count, zeroing gradients, and exact state
 * export/import, gated steps. Subclasses implement only {@link #update(Tensor)}.
 */
abstract sealed class SlotOptimizer implements Optimizer permits AdamW, Sgd {
    /** The parameters with their state slots. */
    protected final ParameterSet set;
    /** The learning rate of the next step. */
    protected double lr;
    private long steps;
    /** A gated step waits for {@link #settle(boolean)}. */
    private boolean unsettled;

    SlotOptimizer(Map<String, Tensor> parameters, double lr, String... slots) {
        this.set = new ParameterSet(parameters, slots);
        this.lr = lr;
    }

    /**
     * Applies one update with {@link #lr} to every parameter that has a gradient, advancing their step counts.
     *
     * @param grads each parameter's gradient, checked ({@link ParameterSet#grads()}), null where it has none
     * @param gate the gate the kernels read, or null for an unconditional update
     */
    protected abstract void update(Tensor[] grads, Tensor gate);

    @Override
    public final void step() {
        requireSettled();
        Tensor[] grads = set.grads(); // every gradient checked before a count or a parameter changes
        steps++;
        update(grads, null);
    }

    @Override
    public final void step(UpdateGate gate) {
        requireSettled();
        Tensor values = gate.values();
        Tensor[] grads = set.grads();
        set.rememberCounts();
        steps++;
        update(grads, values);
        unsettled = true;
    }

    @Override
    public final void settle(boolean applied) {
        if (!unsettled) {
            throw new IllegalStateException("no gated step is waiting to be settled: call settle once after each "
                    + "step(UpdateGate)");
        }
        unsettled = false;
        if (!applied) {
            steps--;
            set.restoreCounts();
        }
    }

    private void requireSettled() {
        set.ensureOpen();
        if (unsettled) {
            throw new IllegalStateException("the last step(UpdateGate) is not settled: read its gate and call "
                    + "settle(open) first, or the step counts would be wrong");
        }
    }

    @Override
    public final void zeroGrad() {
        set.zeroGrad();
    }

    @Override
    public final double learningRate() {
        return lr;
    }

    @Override
    public final void setLearningRate(double lr) {
        Checks.learningRate(lr);
        this.lr = lr;
    }

    @Override
    public final long steps() {
        return steps;
    }

    @Override
    public final OptimizerState exportState() {
        requireSettled();
        return set.export(steps);
    }

    @Override
    public final void importState(OptimizerState state) {
        requireSettled();
        set.restore(state);
        this.steps = state.steps();
    }

    @Override
    public final void close() {
        set.close();
    }
}
