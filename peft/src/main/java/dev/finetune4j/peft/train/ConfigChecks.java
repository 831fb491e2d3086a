package dev.finetune4j.peft.train;

/** Range checks of the trainers' configuration records, with messages that name the method, the field and a fix. */
final class ConfigChecks {
    private ConfigChecks() {
    }

    /** Fails unless {@code value} is finite and {@code > min} ({@code open}) or {@code >= min}. */
    static void requireAtLeast(String method, String field, double value, double min, boolean open, String hint) {
        boolean ok = Double.isFinite(value) && (open ? value > min : value >= min);
        if (!ok) {
            throw new IllegalArgumentException(method + " " + field + " must be a finite number " + (open ? "> " : ">= ")
                    + min + ", got " + value + "; " + hint);
        }
    }
}
