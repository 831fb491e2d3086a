package dev.finetune4j.peft.train;

/**
 * A step's micro-batches as one rank sees them in {@link Objective#prepareStep}: the ones it runs, and an exchange of
 * host values with the other ranks, for what an objective forms over the whole step (GRPO's advantages and token
 * weights). Alone, a rank runs every micro-batch and the exchange gives its own values back.
 */
interface StepShare {

    /**
     * The share of a run without other ranks.
     *
     * @param microBatches the step's micro-batches
     * @return a share of all of them
     */
    static StepShare alone(int microBatches) {
        return new StepShare() {
            @Override
            public int first() {
                return 0;
            }

            @Override
            public int end() {
                return microBatches;
            }

            @Override
            public double[] gather(double[] own, int[] valuesPerMicroBatch) {
                return own;
            }
        };
    }

    /** @return the first of the micro-batches this rank runs */
    int first();

    /** @return one past the last of the micro-batches this rank runs */
    int end();

    /**
     * Every micro-batch's values, in micro-batch order, each rank giving those of its own micro-batches; the same bits
     * on every rank.
     *
     * @param own                 the values of micro-batches {@link #first()} to {@link #end()} - 1, one after the other
     * @param valuesPerMicroBatch how many values each of the step's micro-batches has (known to every rank)
     * @return the values of all of the step's micro-batches
     */
    double[] gather(double[] own, int[] valuesPerMicroBatch);
}
