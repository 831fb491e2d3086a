package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * What AdamW and SGD share: the named parameters with their per-parameter state slots (device tensors this
 * optimizer owns until {@link #close()}), the learning rate, the step count, zeroing gradients, and exact state
 * export/import. Subclasses implement only {@link #update()}.
 */
abstract sealed class SlotOptimizer implements Optimizer permits AdamW, Sgd {
    /** The parameters with their state slots. */
    protected final ParameterSet set;
    /** The learning rate of the next step. */
    protected double lr;
    private long steps;

    SlotOptimizer(Map<String, Tensor> parameters, double lr, String... slots) {
        this.set = new ParameterSet(parameters, slots);
        this.lr = lr;
    }

    /** Applies one update with {@link #lr} to every parameter that has a gradient. */
    protected abstract void update();

    @Override
    public final void step() {
        set.ensureOpen();
        steps++;
        update();
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
        return set.export(steps);
    }

    @Override
    public final void importState(OptimizerState state) {
        set.restore(state);
        this.steps = state.steps();
    }

    @Override
    public final void close() {
        set.close();
    }
}
