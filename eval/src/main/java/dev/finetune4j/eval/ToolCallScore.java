package dev.finetune4j.eval;

/**
 * How well predicted function calls match the expected ones over a set of examples, each value in [0, 1].
 *
 * @param exactMatch        share of examples whose calls equal the expected ones: the same functions with equal
 *                          arguments, in any order (parallel calls have none)
 * @param decisionAccuracy  share of examples where the model called a function exactly when one was expected (a
 *                          call against a plain answer)
 * @param namePrecision     called functions that were expected, over all calls made (names as multisets, summed
 *                          over examples)
 * @param nameRecall        expected functions that were called, over all expected calls
 * @param argumentPrecision arguments (top-level keys) given with the expected value, over all arguments given
 * @param argumentRecall    expected arguments given with the expected value, over all expected arguments
 * @param invalidArguments  predicted calls whose arguments are not a JSON object (counted with no arguments)
 * @param count             number of examples
 */
public record ToolCallScore(double exactMatch, double decisionAccuracy, double namePrecision, double nameRecall,
                            double argumentPrecision, double argumentRecall, int invalidArguments, int count) {
    /**
     * The harmonic mean of the name precision and recall.
     *
     * @return F1 of the called function names, 0 when both are 0
     */
    public double nameF1() {
        return f1(namePrecision, nameRecall);
    }

    /**
     * The harmonic mean of the argument precision and recall.
     *
     * @return F1 of the arguments, 0 when both are 0
     */
    public double argumentF1() {
        return f1(argumentPrecision, argumentRecall);
    }

    private static double f1(double p, double r) {
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }
}
