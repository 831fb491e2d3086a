package dev.finetune4j.peft;

import java.util.Locale;

/**
 * How many parameters train, as PEFT's {@code print_trainable_parameters} reports them.
 *
 * @param trainableParams parameters that receive gradients
 * @param allParams       every parameter of the model, adapter included
 */
public record TrainableReport(long trainableParams, long allParams) {

    /**
     * 100 * trainable / all.
     *
     * @return the trainable share in percent
     */
    public double trainablePercent() {
        return allParams == 0 ? 0 : 100.0 * trainableParams / allParams;
    }

    /** {@code trainable params: 1,024 || all params: 123,456 || trainable%: 0.8295} */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainableParams, allParams, trainablePercent());
    }
}
