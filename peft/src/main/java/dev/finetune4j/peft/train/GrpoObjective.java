package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * GRPO over prompts. Before each step ({@link #prepareStep}) the completions of all its prompts are sampled and
 * scored ({@link GrpoSampler}) and their advantages formed over the step ({@link GrpoAdvantages}), TRL's generation
 * batch; each micro-batch then runs one training forward over its prompts + completions and {@link GrpoLoss}. The
 * loss unit is a completion: the loop divides the sum by the step's completions, so each {@link GrpoLossType} weighs
 * the tokens to give TRL's value ({@link #tokenWeights}).
 *
 * <p>With {@code numIterations} μ > 1 a generation serves μ optimizer steps ({@link #stepsPerPreparation}): the
 * later ones reuse its rollouts, and each rollout keeps the per-token log-probabilities of the policy that sampled it,
 * taken at generation time in eval mode (as it sampled) without autograd, the old policy of {@link GrpoLoss}'s ratio.
 *
 * <p>An evaluation over validation prompts ({@link #prepareEvaluation}) samples them from the evaluation's seed streams
 * and forms their rollouts as one generation; the loop then runs {@link #lossSum} over them without autograd.
 *
 * <p>With β > 0 the reference is the base model without the adapter (TRL's reference for a PEFT model), run in eval
 * mode without autograd in each micro-batch: no second copy of the weights is held.
 */
final class GrpoObjective implements Objective {
    private final PeftModel model;
    private final GrpoDataset data;
    private final GrpoConfig cfg;
    private final List<String> rewardNames;
    private final GrpoSampler sampler;
    private final long padId;
    private final List<Rollout> prepared = new ArrayList<>();
    private Map<String, Double> stepMetrics = Map.of();
    /** The micro-batches of the current step, every rank's: the loss-token metrics are means over them. */
    private int stepMicroBatches;

    /**
     * The completions of one micro-batch, {@code numGenerations} per prompt, prompt after prompt.
     *
     * @param prompts      the prompts' data set indices
     * @param completions  each completion's token ids (ending after its first stop token, or cut by the length limit)
     * @param truncated    whether each was cut by the length limit
     * @param advantages   each completion's advantage
     * @param tokenWeights the weight of each of a completion's loss tokens in the step's loss sum
     * @param masked       whether each is left out of the loss ({@code mask_truncated_completions})
     * @param oldLogps     the generating policy's log-probability of each position of {@link #batch}'s rows (0 where
     *                     a position has no label); null with one iteration, where the old policy is the policy
     */
    record Rollout(int[] prompts, long[][] completions, boolean[] truncated, double[] advantages, double[] tokenWeights,
                   boolean[] masked, float[] oldLogps) {
    }

    GrpoObjective(PeftModel model, GrpoDataset data, GrpoConfig cfg, List<RewardFunction> rewards, GrpoSampler sampler,
                  long padId) {
        for (int i = 0; i < data.size(); i++) {
            long[] prompt = data.get(i).prompt();
            Objective.requireFits(prompt.length + 1, model, "GRPO prompt " + i + " (with room for one completion token)");
            Objective.requireInVocabulary(new TokenizedExample(prompt, prompt, null), model, "GRPO prompt " + i);
        }
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.rewardNames = rewards.stream().map(RewardFunction::name).toList();
        this.sampler = sampler;
        this.padId = padId;
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public long fingerprint() {
        Fingerprint f = new Fingerprint();
        for (int i = 0; i < data.size(); i++) {
            f.add(data.get(i).prompt());
        }
        return f.value();
    }

    /** {@code numIterations}: the optimizer steps each generation serves. */
    @Override
    public int stepsPerPreparation() {
        return cfg.numIterations();
    }

    @Override
    public long weight(int[] indices) {
        return (long) indices.length * cfg.numGenerations();
    }

    /**
     * Samples and scores the completions of this rank's prompts of the step, and forms their advantages over the whole
     * step (every rank's completions: their scores, lengths and truncation are exchanged); with μ > 1 also the
     * generating policy's log-probabilities of this rank's rollouts (nothing more is exchanged).
     */
    @Override
    public void prepareStep(int step, List<int[]> microBatches, StepShare share) {
        prepare(microBatches, share, prompts -> sampler.sample(step, prompts), cfg.numIterations() > 1);
    }

    /**
     * Samples and scores the completions of this rank's validation prompts from their own streams
     * ({@link GrpoSampler#sampleForEvaluation}) and forms their advantages over the whole evaluation, as one generation
     * batch; {@link #preparationMetrics} are then the evaluation's rewards and lengths. An evaluation is one iteration
     * (TRL's): the old policy is the policy, so no old log-probabilities are taken.
     */
    @Override
    public void prepareEvaluation(List<int[]> batches, StepShare share) {
        prepare(batches, share, sampler::sampleForEvaluation, false);
    }

    /** GRPO's best evaluation has the highest mean reward: its validation loss stays near 0 whatever the policy does. */
    @Override
    public Optional<String> bestEvalMetric() {
        return Optional.of("reward");
    }

    /** Samples ({@code sampling}) and scores this rank's micro-batches, then forms the rollouts of all of them. */
    private void prepare(List<int[]> microBatches, StepShare share, Function<int[], long[][]> sampling, boolean keepOld) {
        List<long[][]> completions = new ArrayList<>();
        List<double[][]> scores = new ArrayList<>();
        for (int[] prompts : microBatches.subList(share.first(), share.end())) {
            long[][] sampled = sampling.apply(prompts);
            completions.add(sampled);
            scores.add(sampler.score(prompts, sampled));
        }
        prepare(microBatches, share, completions, scores, keepOld);
    }

    /**
     * Forms the step's rollouts from given completions and scores (per micro-batch: [function][completion]) of every
     * micro-batch, on one rank: what a test with fixed completions calls.
     */
    void prepare(List<int[]> microBatches, List<long[][]> completions, List<double[][]> scores) {
        prepare(microBatches, StepShare.alone(microBatches.size()), completions, scores, cfg.numIterations() > 1);
    }

    /**
     * Forms this rank's rollouts from the completions and scores of its micro-batches: each completion is ended after
     * its first stop token, then every completion's scores, length and truncation, gathered from all ranks, give the
     * advantages, token weights and metrics of the whole step. With {@code keepOld} (μ > 1) each of this rank's
     * rollouts gets the policy's log-probabilities as the model is now ({@link #oldLogProbs}).
     */
    private void prepare(List<int[]> microBatches, StepShare share, List<long[][]> completions, List<double[][]> scores,
                         boolean keepOld) {
        int functions = rewardNames.size();
        int stride = functions + 2; // per completion: each function's score, the length, whether it was truncated
        List<long[]> own = new ArrayList<>();
        double[] ownValues = new double[completions.stream().mapToInt(c -> c.length).sum() * stride];
        for (int m = 0; m < completions.size(); m++) {
            for (int c = 0; c < completions.get(m).length; c++) {
                long[] ended = sampler.endAtStop(completions.get(m)[c]);
                int at = own.size() * stride;
                for (int f = 0; f < functions; f++) {
                    ownValues[at + f] = scores.get(m)[f][c];
                }
                ownValues[at + functions] = ended.length;
                ownValues[at + functions + 1] = sampler.truncated(ended) ? 1 : 0;
                own.add(ended);
            }
        }
        int[] sizes = microBatches.stream().mapToInt(p -> p.length * cfg.numGenerations()).toArray();
        double[] every = share.gather(ownValues, Arrays.stream(sizes).map(n -> n * stride).toArray());
        int total = every.length / stride;
        double[][] all = new double[functions][total];
        int[] lengths = new int[total];
        boolean[] truncated = new boolean[total];
        boolean[] masked = new boolean[total];
        for (int c = 0; c < total; c++) {
            for (int f = 0; f < functions; f++) {
                all[f][c] = every[c * stride + f];
            }
            lengths[c] = (int) every[c * stride + functions];
            truncated[c] = every[c * stride + functions + 1] != 0;
            masked[c] = cfg.maskTruncatedCompletions() && truncated[c];
        }
        GrpoAdvantages advantages = GrpoAdvantages.of(all, cfg, cfg.numGenerations());
        double[] weights = tokenWeights(cfg, sizes, lengths, masked);
        prepared.clear();
        int at = 0;
        int ownAt = 0;
        for (int m = 0; m < microBatches.size(); m++) {
            int n = sizes[m];
            if (m >= share.first() && m < share.end()) {
                Rollout r = new Rollout(microBatches.get(m).clone(), own.subList(ownAt, ownAt + n).toArray(long[][]::new),
                        Arrays.copyOfRange(truncated, at, at + n), Arrays.copyOfRange(advantages.advantages(), at, at + n),
                        Arrays.copyOfRange(weights, at, at + n), Arrays.copyOfRange(masked, at, at + n), null);
                prepared.add(!keepOld ? r : new Rollout(r.prompts(), r.completions(), r.truncated(),
                        r.advantages(), r.tokenWeights(), r.masked(), oldLogProbs(r)));
                ownAt += n;
            }
            at += n;
        }
        stepMicroBatches = microBatches.size();
        Map<String, Double> metrics = new LinkedHashMap<>(advantages.metrics(rewardNames, all));
        metrics.putAll(lengthMetrics(lengths, truncated));
        stepMetrics = metrics;
    }

    /**
     * The weight of each loss token of each completion (the step's completions in order, {@code sizes[m]} in
     * micro-batch m) such that the step's weighted sum over its completions' count is {@code lossType}'s loss: GRPO
     * {@code 1 / max(1, its tokens)}; BNPO {@code micro-batch completions / max(1, micro-batch tokens)}; DR_GRPO
     * {@code 1 / max_completion_length}; DAPO {@code step completions / max(1, step tokens)}.
     */
    static double[] tokenWeights(GrpoConfig cfg, int[] sizes, int[] lengths, boolean[] masked) {
        int total = lengths.length;
        long[] tokens = new long[total];
        long stepTokens = 0;
        for (int c = 0; c < total; c++) {
            tokens[c] = masked[c] ? 0 : lengths[c];
            stepTokens += tokens[c];
        }
        double[] weights = new double[total];
        int at = 0;
        for (int size : sizes) {
            long microTokens = 0;
            for (int c = at; c < at + size; c++) {
                microTokens += tokens[c];
            }
            for (int c = at; c < at + size; c++) {
                weights[c] = switch (cfg.lossType()) {
                    case GRPO -> 1.0 / Math.max(1, tokens[c]);
                    case BNPO -> (double) size / Math.max(1, microTokens);
                    case DR_GRPO -> 1.0 / cfg.maxCompletionLength();
                    case DAPO -> (double) total / Math.max(1, stepTokens);
                };
            }
            at += size;
        }
        return weights;
    }

    /**
     * TRL's {@code completions/mean_length}, {@code min_length}, {@code max_length}, {@code clipped_ratio} and the
     * same three lengths over the completions that ended with a stop token ({@code mean_terminated_length}, ...; 0
     * when none did, as TRL).
     */
    private static Map<String, Double> lengthMetrics(int[] lengths, boolean[] truncated) {
        int[] terminated = IntStream.range(0, lengths.length).filter(c -> !truncated[c]).map(c -> lengths[c]).toArray();
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("completions/mean_length", Arrays.stream(lengths).average().orElseThrow());
        out.put("completions/min_length", (double) Arrays.stream(lengths).min().orElseThrow());
        out.put("completions/max_length", (double) Arrays.stream(lengths).max().orElseThrow());
        out.put("completions/clipped_ratio", (double) (lengths.length - terminated.length) / lengths.length);
        out.put("completions/mean_terminated_length", Arrays.stream(terminated).average().orElse(0));
        out.put("completions/min_terminated_length", (double) Arrays.stream(terminated).min().orElse(0));
        out.put("completions/max_terminated_length", (double) Arrays.stream(terminated).max().orElse(0));
        return out;
    }

    /**
     * The generating policy's log-probabilities of the rollout's rows, read back once at generation time: the model as
     * it is now, in eval mode as {@link GrpoSampler} sampled, without autograd.
     */
    private float[] oldLogProbs(Rollout r) {
        try (var scope = TensorScope.open()) {
            return evalLogProbs(batch(r), true).toFloatArray();
        }
    }

    @Override
    public List<String> metricNames() {
        return GrpoLoss.metricNames(cfg);
    }

    /**
     * The micro-batch's loss sum and metric sums, on the model's device: one training forward over its prompts +
     * completions, with β > 0 one more through the base without the adapter (eval mode, no autograd), and one upload
     * of the advantages, weights and mask per position (and the old log-probabilities, with μ > 1).
     */
    @Override
    public Loss lossSum(int[] indices) {
        Rollout r = rollout(indices);
        Batch batch = batch(r);
        int t = batch.length();
        int n = batch.batchSize() * t;
        float[] old = r.oldLogps();
        // advantages, then weights, then the mask, then the old log-probabilities (μ > 1), per position
        float[] host = new float[(old == null ? 3 : 4) * n];
        if (old != null) {
            System.arraycopy(old, 0, host, 3 * n, n);
        }
        for (int i = 0; i < n; i++) {
            int c = i / t;
            host[i] = (float) r.advantages()[c];
            if (batch.targets()[i] != CrossEntropy.IGNORE_INDEX) {
                host[n + i] = (float) r.tokenWeights()[c];
                host[2 * n + i] = 1f;
            }
        }
        Tensor logps = SequenceLogProbs.perToken(model, batch).reshape(n);
        Tensor reference = cfg.beta() > 0 ? evalLogProbs(batch, false).reshape(n) : null;
        Tensor values = Tensor.of(logps.device(), TensorScope.current(), host, Shape.of(host.length));
        GrpoLoss.Sums sums = GrpoLoss.of(cfg, logps, old == null ? null : values.slice(0, 3 * n, 4 * n), reference,
                values.slice(0, 0, n), values.slice(0, n, 2 * n), values.slice(0, 2 * n, 3 * n), batch.lossTokens());
        return new Loss(sums.sum(), batch.tokens(), sums.metricSums());
    }

    /** The rollout of the micro-batch of {@code indices}, prepared for the current step. */
    Rollout rollout(int[] indices) {
        return prepared.stream().filter(p -> Arrays.equals(p.prompts(), indices)).findFirst()
                .orElseThrow(() -> new IllegalStateException("GRPO prompts " + Arrays.toString(indices)
                        + " were not prepared for this step: the loop calls prepareStep with every micro-batch first"));
    }

    /** The rollout's prompts + completions, right-padded; a masked completion's labels are -100. */
    Batch batch(Rollout r) {
        List<TokenizedExample> rows = new ArrayList<>(r.completions().length);
        for (int c = 0; c < r.completions().length; c++) {
            rows.add(sequence(data.get(r.prompts()[c / cfg.numGenerations()]).prompt(), r.completions()[c], r.masked()[c]));
        }
        return Batch.collate(rows, padId);
    }

    /** A prompt and its completion; the completion's labels are -100 too when it is left out of the loss. */
    private static TokenizedExample sequence(long[] prompt, long[] completion, boolean masked) {
        TokenizedExample trained = SftDataset.promptCompletion(prompt, completion, 0);
        if (!masked) {
            return trained;
        }
        long[] none = new long[trained.length()];
        Arrays.fill(none, CrossEntropy.IGNORE_INDEX);
        return new TokenizedExample(trained.inputIds(), none, null);
    }

    /**
     * The per-position log-probabilities of the policy ({@code withAdapter}) or of the reference, the base model
     * without the adapter, in eval mode, without autograd.
     */
    private Tensor evalLogProbs(Batch batch, boolean withAdapter) {
        boolean training = model.base().isTraining();
        model.train(false);
        try (var ng = Autograd.noGrad(); var off = withAdapter ? null : model.disableAdapter()) {
            return SequenceLogProbs.perToken(model, batch);
        } finally {
            model.train(training);
        }
    }

    /** The loss-token metrics of {@link GrpoLoss#metrics}, every step's. */
    @Override
    public Map<String, Double> metrics(Map<String, Double> sums, long weight) {
        return GrpoLoss.metrics(sums, stepMicroBatches);
    }

    /** The generation's reward and length metrics, which TRL logs with the step that generated. */
    @Override
    public Map<String, Double> preparationMetrics() {
        return stepMetrics;
    }
}
