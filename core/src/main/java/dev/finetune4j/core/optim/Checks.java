package dev.finetune4j.core.optim;

/** Argument checks shared by the optimizers and clipping, each naming the value and its range. */
final class Checks {
    private Checks() {
    }

    /** The learning rate: finite and {@code >= 0}. */
    static void learningRate(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("the learning rate must be finite and >= 0, got " + lr
                    + "; fine-tuning usually takes 1e-5 to 1e-3");
        }
    }

    /** A decay factor in [0, 1), as torch's betas. */
    static void fraction(String what, double value, String usual) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(what + " must be in [0, 1), got " + value + "; " + usual);
        }
    }

    /** A finite value {@code >= 0}. */
    static void nonNegative(String what, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(what + " must be finite and >= 0, got " + value);
        }
    }

    /**
     * A finite value {@code > 0} that stays positive in float32, where the kernels use it: below
     * {@link Float#MIN_VALUE} it rounds to 0, and an eps of 0 divides 0 by 0 while a clipping norm of 0 zeroes every
     * gradient (or, in an update gate, turns clipping off).
     */
    static void positive(String what, double value) {
        if (!((float) value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(what + " must be finite and > 0, at least " + Float.MIN_VALUE
                    + " (it is used in float32, where smaller values are 0), got " + value);
        }
    }
}
