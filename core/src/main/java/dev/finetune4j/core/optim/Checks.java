package dev.finetune4j.core.optim;

/** Argument checks shared by the optimizers. */
final class Checks {
    private Checks() {
    }

    static void learningRate(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("the learning rate must be finite and >= 0, got " + lr);
        }
    }
}
