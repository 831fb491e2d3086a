package dev.finetune4j.peft.train;

/**
 * Thrown when more optimizer steps than {@link TrainingConfig#maxNonFiniteSteps()} had a NaN/Inf loss or
 * gradient (the model then holds the weights of the last good step), or when an update made a weight NaN/Inf.
 * Checkpoints written so far are intact.
 */
public final class TrainingDivergedException extends RuntimeException {
    /** The step at which training diverged. */
    private final int step;
    /** Steps skipped for a NaN/Inf loss or gradient so far. */
    private final int nonFiniteSteps;

    TrainingDivergedException(int step, int nonFiniteSteps, int allowed) {
        super("training diverged: " + nonFiniteSteps + " steps had a NaN/Inf loss or gradient (allowed: " + allowed
                + "), the last at step " + step + ". Lower learningRate, set maxGradNorm (for example 1.0), check the "
                + "data for examples without any label tokens, or raise maxNonFiniteSteps; resume from the last checkpoint");
        this.step = step;
        this.nonFiniteSteps = nonFiniteSteps;
    }

    /** The update of step {@code step} (1-based) made a weight non-finite; {@code reason} says which and why. */
    TrainingDivergedException(int step, String reason) {
        super("training diverged at step " + step + ": " + reason);
        this.step = step;
        this.nonFiniteSteps = 0;
    }

    /**
     * The step at which the limit was exceeded (1-based).
     *
     * @return the step
     */
    public int step() {
        return step;
    }

    /**
     * Skipped steps so far.
     *
     * @return the count of skipped steps
     */
    public int nonFiniteSteps() {
        return nonFiniteSteps;
    }
}
