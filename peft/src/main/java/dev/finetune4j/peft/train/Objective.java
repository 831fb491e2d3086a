package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftModel;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a trainer minimises over a data set of examples addressed by index: the training loop is shared, the
 * objective (causal-LM cross-entropy, DPO) is not.
 */
interface Objective {

    /**
     * Fails when a sequence is longer than the model reads (max_position_embeddings, less prompt tuning's virtual
     * tokens): positions past the limit have no embedding, so training on them would be silently wrong.
     *
     * @param longest the longest sequence of the data set, in tokens
     * @param where   which example, for the message
     */
    static void requireFits(int longest, PeftModel model, String where) {
        int limit = model.maxPositionEmbeddings();
        if (longest > limit) {
            throw new IllegalArgumentException(where + " has " + longest + " tokens, but the model reads at most " + limit
                    + " (max_position_embeddings" + (model.virtualTokens() > 0 ? " less the virtual tokens" : "")
                    + "); cut the examples (SftFormat.withMaxLength, or when tokenizing) or use a model with more positions");
        }
    }

    /**
     * Fails when a token id or a label the loss reads (positions after the first) is outside the model's vocabulary,
     * naming the example and position: the forward would refuse it only when a step reaches that example.
     *
     * @param example the sequence
     * @param where   which example, for the message
     */
    static void requireInVocabulary(TokenizedExample example, PeftModel model, String where) {
        long vocab = model.base().vocabSize();
        for (int j = 0; j < example.length(); j++) {
            long id = example.inputIds()[j];
            long label = example.labels()[j];
            boolean badId = id < 0 || id >= vocab;
            boolean badLabel = j > 0 && label != CrossEntropy.IGNORE_INDEX && (label < 0 || label >= vocab);
            if (badId || badLabel) {
                throw new IllegalArgumentException(where + " has " + (badId ? "token id " + id : "label " + label)
                        + " at position " + j + ", outside the vocabulary [0, " + vocab + ")"
                        + (badId ? "" : " and not the ignore index " + CrossEntropy.IGNORE_INDEX)
                        + "; tokenize with the model's own tokenizer");
            }
        }
    }

    /**
     * Fails, naming the row and position, when a classifier's row is longer than the model reads or holds a token id
     * outside its vocabulary: the forward would refuse it only when a step reaches that row.
     *
     * @param ids   the row's token ids
     * @param spec  the classifier's sizes
     * @param where which row, for the message
     */
    static void requireReadable(long[] ids, ModelSpec spec, String where) {
        if (ids.length > spec.maxPositionEmbeddings()) {
            throw new IllegalArgumentException(where + " has " + ids.length + " tokens, but the model reads at most "
                    + spec.maxPositionEmbeddings() + " (max_position_embeddings); cut it when tokenizing");
        }
        for (int j = 0; j < ids.length; j++) {
            if (ids[j] < 0 || ids[j] >= spec.vocabSize()) {
                throw new IllegalArgumentException(where + " has token id " + ids[j] + " at position " + j
                        + ", outside the vocabulary [0, " + spec.vocabSize() + "); tokenize with the model's tokenizer");
            }
        }
    }

    /** Examples in the data set. */
    int size();

    /**
     * Whether training steps run in training mode (dropout on). DPO runs without dropout, as TRL does by default
     * ({@code disable_dropout}): the policy must equal its reference when training starts.
     */
    default boolean dropout() {
        return true;
    }

    /**
     * A {@link Fingerprint} of every example's tokens (and labels), in order: a resume on other data of the same size
     * is refused with it.
     */
    long fingerprint();

    /**
     * Called with all micro-batches of optimizer step {@code step} before they are weighed and run, under the run's
     * precision: GRPO samples and scores the completions of this rank's micro-batches here, as one generation batch,
     * and forms their advantages over the whole step. What it prepares serves {@link #stepsPerPreparation} steps from
     * {@code step} on, which run the same micro-batches; the loop calls it again for the next group. Nothing by default.
     *
     * @param step         the 0-based optimizer step, the first that the preparation serves
     * @param microBatches the example indices of each of the step's micro-batches (every rank's), in order
     * @param share        the ones this rank runs, and the exchange with the other ranks
     */
    default void prepareStep(int step, List<int[]> microBatches, StepShare share) {
    }

    /**
     * Called before each evaluation of this (validation) objective with all its batches, under the run's precision:
     * GRPO samples and scores the completions of this rank's validation prompts here and forms their advantages over
     * the whole evaluation; its {@link #preparationMetrics} are then reported with the evaluation. Nothing by default.
     *
     * @param batches the example indices of each of the evaluation's batches (every rank's), in order
     * @param share   the ones this rank evaluates, and the exchange with the other ranks
     */
    default void prepareEvaluation(List<int[]> batches, StepShare share) {
    }

    /**
     * The metric of an evaluation ({@link EvalMetrics#extra()}) whose highest value makes the best evaluation and whose
     * lack of improvement counts towards early stopping; empty (the default) for the validation loss, the lowest being
     * the best. GRPO: {@code reward}, the mean reward of the validation prompts' completions.
     */
    default Optional<String> bestEvalMetric() {
        return Optional.empty();
    }

    /**
     * Whether the loss is a mean cross-entropy per predicted token, so that {@code exp(loss)} is a perplexity (SFT);
     * false by default (a preference, reward or classification loss).
     */
    default boolean lossIsTokenCrossEntropy() {
        return false;
    }

    /**
     * How many consecutive optimizer steps one {@link #prepareStep} serves: they run the same micro-batches, and an
     * epoch over the examples takes that many times more steps. 1 by default; GRPO's {@code numIterations}.
     */
    default int stepsPerPreparation() {
        return 1;
    }

    /**
     * Metrics of the latest {@link #prepareStep} (GRPO's rewards and completion lengths), reported with the step that
     * called it and not with the later steps it serves, or of the latest {@link #prepareEvaluation}, reported with that
     * evaluation. None by default.
     */
    default Map<String, Double> preparationMetrics() {
        return Map.of();
    }

    /**
     * The names of the metric sums of every {@link Loss} this objective returns ({@link Loss#metricSums()}'s keys), in
     * their order: the ranks of a data-parallel run sum them by position, including ranks that ran no micro-batch.
     * None by default.
     */
    default List<String> metricNames() {
        return List.of();
    }

    /** Loss units of these examples (label tokens for SFT, pairs for DPO): the denominator of the mean. */
    long weight(int[] indices);

    /**
     * Forward pass over the examples, in the caller's open scope.
     *
     * @return the sum of per-unit losses (a scalar with autograd) and sums of extra metrics
     */
    Loss lossSum(int[] indices);

    /**
     * The metrics reported for a training step or an evaluation, from the sums of {@link Loss#metricSums()} over its
     * micro-batches; by default each sum divided by the weight, a mean per loss unit. An objective whose metrics are
     * means over a part of the units (KTO's rewards of the desirable rows) divides by a count it summed as well.
     *
     * @param sums   each metric's sum over the micro-batches
     * @param weight the loss units of those micro-batches, {@code > 0}
     */
    default Map<String, Double> metrics(Map<String, Double> sums, long weight) {
        Map<String, Double> out = new HashMap<>();
        sums.forEach((name, sum) -> out.put(name, sum / weight));
        return out;
    }

    /**
     * Metrics of a whole validation set that are not means of per-unit values (macro F1), from the prediction of
     * every example, in order; empty for objectives without predictions.
     *
     * @param predicted the predicted class of each example, from {@link Loss#predictions()} (multi-label: each
     *                  example's 0/1 per class, example after example)
     */
    default Map<String, Double> predictionMetrics(int[] predicted) {
        return Map.of();
    }

    /**
     * @param sum         sum of per-unit losses, shape [1]
     * @param tokens      real tokens processed (for throughput)
     * @param metricSums  sums over this micro-batch of extra metrics, each one value on the model's device without
     *                    autograd: the loop reads them back in the same transfer as the loss (issue 17: a step reads
     *                    nothing else) and averages them over the step's weight
     * @param predictions the predicted class of each example, I64 (B) (multi-label: 0/1 per class, (B, L)), read back
     *                    in evaluation only; null when the objective predicts no class
     */
    record Loss(Tensor sum, long tokens, Map<String, Tensor> metricSums, Tensor predictions) {

        /** A loss without predictions. */
        Loss(Tensor sum, long tokens, Map<String, Tensor> metricSums) {
            this(sum, tokens, metricSums, null);
        }
    }
}
