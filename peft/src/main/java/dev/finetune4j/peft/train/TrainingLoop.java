package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Bf16Casts;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.optim.UpdateGate;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The loop every trainer shares: micro-batches with gradient accumulation, the NaN/Inf guard, clipping, AdamW
 * and the schedule, evaluation and early stopping, checkpoints and resume, progress events. What is minimised
 * comes from the {@link Objective}.
 *
 * <p>Step {@code s} (0-based) of epoch {@code e = s / stepsPerEpoch} reads micro-batches
 * {@code ((s mod stepsPerEpoch) / μ) * accumulation * worldSize ...} of that epoch's order, where μ is
 * {@link Objective#stepsPerPreparation} (1 but for GRPO's {@code numIterations}): μ consecutive steps, of which the
 * first prepares them, run the same micro-batches, and an epoch has μ times as many steps. So the data position is the
 * step count, and a resumed run reads exactly what an uninterrupted one would; a checkpoint between the μ steps keeps
 * the weights their preparation was made with, and the resumed run makes it again ({@link PreparedWeights}). In a
 * data-parallel run each rank runs its share of them ({@link DataParallelRank}).
 */
final class TrainingLoop {
    private final TrainedModel model;
    private final TrainingConfig cfg;
    private final Objective train;
    private final Objective eval;
    private final List<TrainingListener> listeners;
    private final DataParallelRank ranks;
    private final int microBatches;
    private final int stepsPerPreparation;
    private final int stepsPerEpoch;
    private final int totalSteps;
    private int[] order;
    private int orderEpoch = -1;
    private Device device = Device.cpu();
    private final PreparedWeights preparedWeights = new PreparedWeights();
    /** The step after which the ranks last compared their replicas; -1 before the first comparison. */
    private int replicasComparedAt = -1;
    /** Whether checkpoints may fall between the steps of a preparation: then its weights are kept for them. */
    private boolean keepPreparedWeights;

    TrainingLoop(TrainedModel model, TrainingConfig cfg, Objective train, Objective eval, List<TrainingListener> listeners,
                 DataParallelRank ranks) {
        this.model = model;
        this.cfg = cfg;
        this.train = train;
        this.eval = eval;
        this.listeners = listeners;
        this.ranks = ranks;
        this.microBatches = Math.ceilDiv(train.size(), cfg.microBatchSize());
        this.stepsPerPreparation = train.stepsPerPreparation();
        this.stepsPerEpoch = stepsPerPreparation * Math.ceilDiv(microBatches, microBatchesPerStep());
        this.totalSteps = cfg.totalSteps(stepsPerEpoch);
    }

    /** Trains from the start, or from {@code resumeFrom} (a checkpoint folder) when not null. */
    TrainResult run(Path resumeFrom) {
        Map<String, Tensor> params = model.trainableParameters();
        if (params.isEmpty()) {
            throw new IllegalStateException("the model has no trainable parameters: create it with Peft.wrap(base, config) "
                    + "or Peft.loadTrainable(base, dir) (Peft.load gives a frozen adapter for inference)");
        }
        device = params.values().iterator().next().device();
        try (Optimization optimization = new Optimization(params, cfg, totalSteps)) {
            return run(resumeFrom, optimization);
        } catch (RuntimeException | Error e) {
            ranks.leave(); // the other ranks fail now instead of waiting for this one
            throw e;
        } finally {
            preparedWeights.close();
        }
    }

    /** Micro-batches of one optimizer step, over all ranks. */
    private int microBatchesPerStep() {
        return cfg.gradientAccumulationSteps() * ranks.worldSize();
    }

    /** What every rank of a data-parallel run must agree on before the first step, by name. */
    private void requireSameRunOnEveryRank(TrainerState fresh, TrainerState state) {
        Fingerprint optimizationSettings = new Fingerprint();
        fresh.optimization.forEach((name, value) -> optimizationSettings.add(name).add(value));
        Fingerprint trainable = new Fingerprint();
        model.trainableParameters().forEach((name, p) -> trainable.add(name).add(p.shape().dims()));
        ranks.requireSameRun(List.of(
                DataParallelRank.Fact.of("the world size", ranks.worldSize()),
                DataParallelRank.Fact.of("the seed", cfg.seed()),
                DataParallelRank.Fact.of("microBatchSize", cfg.microBatchSize()),
                DataParallelRank.Fact.of("gradientAccumulationSteps", cfg.gradientAccumulationSteps()),
                DataParallelRank.Fact.of("the shuffle (1: on)", cfg.shuffle() ? 1 : 0),
                DataParallelRank.Fact.of("the steps each generation serves (GRPO numIterations)", stepsPerPreparation),
                DataParallelRank.Fact.of("the training examples", train.size()),
                DataParallelRank.Fact.digest("the training examples' tokens", train.fingerprint()),
                DataParallelRank.Fact.of("the step to start from", state.step),
                DataParallelRank.Fact.digest("the optimization settings (learning rate and schedule, steps, AdamW, "
                        + "clipping, precision)", optimizationSettings.value()),
                DataParallelRank.Fact.digest("the trainable parameters' names and shapes", trainable.value())), device);
    }

    /** The run with its optimizer, which {@link #run(Path)} frees afterwards. */
    private TrainResult run(Path resumeFrom, Optimization optimization) {
        TrainerState fresh = TrainerState.initial(cfg, train, totalSteps, ranks.worldSize());
        Checkpoints.Restored restored = resumeFrom == null ? null
                : Checkpoints.restore(resumeFrom, model, optimization, totalSteps, fresh);
        TrainerState state = restored == null ? fresh : restored.state();
        if (ranks.distributed()) {
            requireSameRunOnEveryRank(fresh, state);
            ranks.startFromRankZero(optimization.parameters());
        }
        // rank 0 writes the checkpoints of every rank's (equal) replica
        boolean saves = cfg.saveEverySteps() > 0 && ranks.rank() == 0;
        keepPreparedWeights = saves && stepsPerPreparation > 1;
        Checkpoints checkpoints = saves ? Checkpoints.open(cfg.outputDir(), cfg.keepLastCheckpoints(), resumeFrom != null)
                : null;
        Path lastCheckpoint = resumeFrom;
        StopReason reason = cfg.maxSteps() > 0 ? StopReason.MAX_STEPS : StopReason.EPOCHS_COMPLETED;
        if (earlyStoppingDue(state)) { // the checkpoint of a run that stopped early: an uninterrupted run had ended
            reason = StopReason.EARLY_STOPPING;
        }
        listeners.forEach(l -> l.onTrainBegin(state.step, totalSteps, stepsPerEpoch));
        int startStep = state.step;
        long started = System.nanoTime();
        optimization.zeroGrad();
        model.train(train.dropout());
        model.gradientCheckpointing(cfg.gradientCheckpointing());
        try {
            if (restored != null && restored.preparedWeights() != null && state.step < totalSteps) {
                prepareAgain(state.step, restored.preparedWeights());
            }
            while (state.step < totalSteps && reason != StopReason.EARLY_STOPPING && reason != StopReason.INTERRUPTED) {
                // a data-parallel run stops where all ranks agree: after the step in which one was interrupted
                if (!ranks.distributed() && Thread.currentThread().isInterrupted()) {
                    reason = StopReason.INTERRUPTED;
                    break;
                }
                long stepStart = System.nanoTime();
                StepOutcome out = runStep(state.step, optimization);
                state.step++;
                state.lossHistory.add(out.loss);
                state.gradNormHistory.add(out.gradNorm);
                if (out.skipped) {
                    state.skippedSteps++;
                    state.unlabelledSteps += out.unlabelled ? 1 : 0;
                    int nonFinite = state.skippedSteps - state.unlabelledSteps;
                    if (nonFinite > cfg.maxNonFiniteSteps()) {
                        throw new TrainingDivergedException(state.step, nonFinite, cfg.maxNonFiniteSteps());
                    }
                }
                state.optimizerSteps = optimization.adamSteps();
                double seconds = (System.nanoTime() - stepStart) / 1e9;
                double perStep = (System.nanoTime() - started) / 1e9 / (state.step - startStep);
                StepMetrics metrics = new StepMetrics(state.step, totalSteps, (double) state.step / stepsPerEpoch,
                        out.loss, out.learningRate, out.gradNorm, out.tokens / seconds,
                        Duration.ofMillis((long) (perStep * 1000 * (totalSteps - state.step))), out.skipped, out.extra,
                        device.memory());
                listeners.forEach(l -> l.onStep(metrics));
                if (state.step % stepsPerEpoch == 0) {
                    int epoch = state.step / stepsPerEpoch - 1;
                    listeners.forEach(l -> l.onEpochEnd(epoch));
                }
                if (eval != null && cfg.evalEverySteps() > 0 && state.step % cfg.evalEverySteps() == 0) {
                    evaluate(state, optimization.parameters());
                    if (earlyStoppingDue(state)) {
                        reason = StopReason.EARLY_STOPPING;
                    }
                }
                if (out.stopRequested) {
                    reason = StopReason.INTERRUPTED;
                }
                // an interrupted run keeps its last step: the loop stops at the top of the next one
                boolean last = reason == StopReason.EARLY_STOPPING || reason == StopReason.INTERRUPTED
                        || state.step == totalSteps || !ranks.distributed() && Thread.currentThread().isInterrupted();
                // the best evaluation's weights are kept even between saves, so bestCheckpoint() is the best one
                boolean best = state.bestEvalStep == state.step;
                if (cfg.saveEverySteps() > 0 && (state.step % cfg.saveEverySteps() == 0 || last || best)) {
                    lastCheckpoint = checkpoint(checkpoints, optimization, state);
                }
            }
        } finally {
            model.train(false);
            model.gradientCheckpointing(false);
        }
        // every rank returns the same model (compared already when the last step wrote a checkpoint)
        if (ranks.distributed() && replicasComparedAt != state.step) {
            ranks.requireEqualReplicas(optimization.parameters(), state.step, device);
        }
        TrainResult result = new TrainResult(state.lossHistory, state.gradNormHistory, state.evalHistory, state.step,
                state.skippedSteps, reason, state.bestEvalLoss == null ? Double.NaN : state.bestEvalLoss,
                bestCheckpoint(state, lastCheckpoint), lastCheckpoint);
        listeners.forEach(l -> l.onTrainEnd(result));
        return result;
    }

    /**
     * Saves the step's checkpoint (rank 0) and names it on every rank once it is complete.
     *
     * @param checkpoints null on the ranks other than 0
     */
    private Path checkpoint(Checkpoints checkpoints, Optimization optimization, TrainerState state) {
        if (ranks.distributed()) { // rank 0's checkpoint stands for every replica: they must be equal
            ranks.requireEqualReplicas(optimization.parameters(), state.step, device);
            replicasComparedAt = state.step;
        }
        boolean betweenPreparedSteps = state.step % stepsPerPreparation != 0;
        Path saved = checkpoints != null ? checkpoints.save(model, optimization, state,
                betweenPreparedSteps ? preparedWeights : null)
                : cfg.outputDir().resolve(Checkpoints.PREFIX + state.step);
        if (ranks.distributed()) {
            ranks.barrier();
        }
        int step = state.step;
        listeners.forEach(l -> l.onCheckpoint(step, saved));
        return saved;
    }

    /** Whether the evaluations so far have gone {@code earlyStoppingPatience} times without improvement. */
    private boolean earlyStoppingDue(TrainerState state) {
        return cfg.earlyStoppingPatience() > 0 && state.evalsWithoutImprovement >= cfg.earlyStoppingPatience();
    }

    /**
     * One step's results; {@code unlabelled}: skipped because its micro-batches had no label token;
     * {@code stopRequested}: a rank of a data-parallel run was interrupted in it.
     */
    private record StepOutcome(double loss, double gradNorm, double learningRate, long tokens, boolean skipped,
                               boolean unlabelled, Map<String, Double> extra, boolean stopRequested) {
    }

    /**
     * Forward/backward over the step's micro-batches, then the update that the device decides ({@link UpdateGate}),
     * then one read-back of everything the host learns from the step (issue 17: a step reads nothing back before its
     * update): each micro-batch's loss and metrics, the gate, and the parameters' norms as the update's guard.
     */
    private StepOutcome runStep(int step, Optimization optimization) {
        List<int[]> groups = microBatchesOf(step);
        int first = ranks.firstMicroBatch(groups.size(), cfg.gradientAccumulationSteps());
        int end = ranks.endMicroBatch(groups.size(), cfg.gradientAccumulationSteps());
        boolean prepares = step % stepsPerPreparation == 0;
        if (prepares) {
            prepare(step, groups);
        }
        long weight = 0; // over every rank's micro-batches: each rank divides by the step's whole weight
        long[] weights = new long[groups.size()];
        for (int m = 0; m < groups.size(); m++) {
            weights[m] = train.weight(groups.get(m));
            weight += weights[m];
        }
        double lr = optimization.learningRate(step);
        if (weight == 0) { // no label at all: nothing to learn, skipped, but no sign of divergence
            // no exchange in such a step (every rank skips it alike): an interrupt waits for the next step's sum
            return new StepOutcome(Double.NaN, Double.NaN, lr, 0, true, true, Map.of(), false);
        }
        try (var scope = TensorScope.open()) {
            Passes passes = new Passes();
            // the masters' bf16 operands, rounded once for every pass (before the mark each pass frees back to)
            try (var casts = Bf16Casts.of(cfg.precision(), optimization.parameters())) {
                for (int m = first; m < end; m++) {
                    if (weights[m] > 0) {
                        passes.run(scope, step, m, groups.get(m), weight);
                    }
                }
            }
            Tensor losses;
            List<Tensor> metricSums;
            long tokens = passes.tokens;
            boolean stop = false;
            Tensor counts = null;
            if (ranks.distributed()) { // one sum over the ranks: the gradients, the losses, the metrics, the counts
                int names = train.metricNames().size();
                Tensor summed = ranks.sumStep(optimization.parameters(), passes.totals(device, names),
                        new float[] {passes.tokens, stopRequested() ? 1 : 0});
                losses = summed.slice(0, 0, 1);
                metricSums = names == 0 ? List.of() : List.of(summed.slice(0, 1, 1 + names));
                counts = summed.slice(0, 1 + names, 3 + names);
            } else {
                losses = passes.losses();
                metricSums = passes.metricSums();
            }
            UpdateGate gate = optimization.gate(losses);
            optimization.step(lr, gate);
            Tensor norms = optimization.parameterNorms();
            List<Tensor> read = new ArrayList<>(List.of(losses, gate.values(), norms));
            read.addAll(metricSums);
            if (counts != null) {
                read.add(counts);
            }
            float[] values = cat(read).toFloatArray();
            if (counts != null) {
                tokens = (long) values[values.length - 2];
                stop = values[values.length - 1] > 0;
                values = Arrays.copyOf(values, values.length - 2);
            }
            int lossValues = (int) losses.numel();
            double loss = 0;
            for (int m = 0; m < lossValues; m++) {
                loss += values[m];
            }
            UpdateGate.Reading outcome = UpdateGate.read(values, lossValues);
            int normsAt = lossValues + OptimizerKernels.GATE_SIZE;
            int metricsAt = normsAt + (int) norms.numel();
            optimization.settle(step + 1, outcome.open(), Arrays.copyOfRange(values, normsAt, metricsAt));
            Map<String, Double> extra = new HashMap<>(passes.metrics(Arrays.copyOfRange(values, metricsAt, values.length),
                    weight));
            if (prepares) {
                extra.putAll(train.preparationMetrics());
            }
            double gradNorm = Double.isFinite(loss) ? outcome.gradNorm() : Double.NaN;
            return new StepOutcome(loss, gradNorm, lr, tokens, !outcome.open(), false, extra, stop);
        } finally {
            optimization.zeroGrad();
        }
    }

    /**
     * The objective's preparation of the steps from {@code step} on, over their micro-batches {@code groups}; the
     * weights it is made with are kept when a checkpoint may fall before its last step.
     */
    private void prepare(int step, List<int[]> groups) {
        if (keepPreparedWeights) {
            preparedWeights.take(model.trainableParameters());
        }
        try (var forwardPrecision = cfg.precision().use()) {
            train.prepareStep(step, groups, ranks.share(groups.size(), cfg.gradientAccumulationSteps(), device));
        }
    }

    /**
     * Resuming at {@code step}, between the steps of one preparation: makes it again as the uninterrupted run made it,
     * with the weights it was made with ({@code preparedWith}, from the checkpoint), then puts the checkpoint's back.
     * Sampling depends only on the weights, the seed and the step, so the completions (and everything formed from
     * them) are the same bits.
     */
    private void prepareAgain(int step, Map<String, float[]> preparedWith) {
        Map<String, Tensor> parameters = model.trainableParameters();
        Map<String, float[]> resumed = new HashMap<>();
        parameters.forEach((name, p) -> resumed.put(name, p.toFloatArray()));
        preparedWith.forEach((name, values) -> parameters.get(name).copyFrom(values));
        int first = step - step % stepsPerPreparation;
        prepare(first, microBatchesOf(first));
        resumed.forEach((name, values) -> parameters.get(name).copyFrom(values));
    }

    /** Whether this rank's thread was interrupted: in a data-parallel run, a request that every rank stop. */
    private boolean stopRequested() {
        return ranks.distributed() && Thread.currentThread().isInterrupted();
    }

    /**
     * The forward and backward passes of one step's micro-batches, keeping on the device what the step reads back
     * after its update: each pass's loss (scaled by the step's weight) and metric sums, (1 + metrics) values a pass.
     */
    private final class Passes {
        final List<Tensor> kept = new ArrayList<>();
        final List<String> metricNames = train.metricNames();
        long tokens;

        /** Micro-batch {@code m} of {@code step}: everything it allocated in {@code scope} is freed but its values. */
        void run(TensorScope scope, int step, int m, int[] examples, long weight) {
            model.seedDropout(Seeds.derive(cfg.seed(), Seeds.DROPOUT, step, m));
            long mark = scope.mark();
            Objective.Loss l;
            try (var forwardPrecision = cfg.precision().use()) {
                l = train.lossSum(examples);
            }
            Tensor scaled = Elementwise.scale(l.sum(), (float) (1.0 / weight));
            requireDeclaredMetrics(l);
            Tensor values = keptValues(scaled, l.metricSums(), metricNames);
            kept.add(values);
            tokens += l.tokens();
            Autograd.backward(scaled);
            scope.releaseSince(mark, values);
        }

        /** Fails when the objective's loss carries other metrics than it declares ({@link Objective#metricNames}). */
        private void requireDeclaredMetrics(Objective.Loss l) {
            if (!List.copyOf(l.metricSums().keySet()).equals(metricNames)) {
                throw new IllegalStateException(train.getClass().getSimpleName() + " reported the metrics "
                        + l.metricSums().keySet() + " but declares " + metricNames + ": the ranks of a data-parallel "
                        + "run sum them by position, so the two must be the same, in order");
            }
        }

        /** Each pass's loss, one after the other. */
        Tensor losses() {
            return cat(kept.stream().map(values -> values.slice(0, 0, 1)).toList());
        }

        /** Each pass's metric sums, pass after pass; none when the objective has no metrics. */
        List<Tensor> metricSums() {
            return metricNames.isEmpty() ? List.of()
                    : kept.stream().map(values -> values.slice(0, 1, 1 + metricNames.size())).toList();
        }

        /** The passes' losses and metric sums added: (1 + metrics), zeros when this rank ran no pass. */
        Tensor totals(Device on, int metrics) {
            Tensor sum = Tensor.zeros(on, Shape.of(1 + metrics));
            for (Tensor values : kept) {
                sum = Elementwise.add(sum, values);
            }
            return sum;
        }

        /** The metrics of the step from each pass's sums (read back, pass after pass), as the objective reports them. */
        Map<String, Double> metrics(float[] sums, long weight) {
            Map<String, Double> total = new HashMap<>();
            for (int j = 0; j < sums.length; j++) {
                total.merge(metricNames.get(j % metricNames.size()), (double) sums[j], Double::sum);
            }
            return train.metrics(total, weight);
        }
    }

    /** A micro-batch's scaled loss and metric sums, detached, in new memory of their own: (1 + metrics). */
    private static Tensor keptValues(Tensor scaled, Map<String, Tensor> metricSums, List<String> names) {
        Tensor[] parts = new Tensor[1 + names.size()];
        parts[0] = scaled.detach().reshape(1);
        for (int i = 0; i < names.size(); i++) {
            parts[i + 1] = metricSums.get(names.get(i)).detach().reshape(1);
        }
        return Concat.cat(0, parts);
    }

    /** The parts one after the other, in one vector. */
    private static Tensor cat(List<Tensor> parts) {
        return Concat.cat(0, parts.toArray(Tensor[]::new));
    }

    /** A validation micro-batch's loss sum, its metric sums added into {@code metrics}; one read. */
    private static double readBack(Objective.Loss l, Map<String, Double> metrics) {
        List<String> names = List.copyOf(l.metricSums().keySet());
        float[] read = keptValues(l.sum(), l.metricSums(), names).toFloatArray();
        for (int i = 0; i < names.size(); i++) {
            metrics.merge(names.get(i), (double) read[i + 1], Double::sum);
        }
        return read[0];
    }

    /** Example indices of each micro-batch of optimizer step {@code step}. */
    private List<int[]> microBatchesOf(int step) {
        int epoch = step / stepsPerEpoch;
        if (epoch != orderEpoch) {
            order = Seeds.epochOrder(train.size(), cfg.shuffle(), cfg.seed(), epoch);
            orderEpoch = epoch;
        }
        int first = (step % stepsPerEpoch) / stepsPerPreparation * microBatchesPerStep();
        int end = Math.min(first + microBatchesPerStep(), microBatches);
        int mbs = cfg.microBatchSize();
        return IntStream.range(first, end)
                .mapToObj(m -> Arrays.copyOfRange(order, m * mbs, Math.min((m + 1) * mbs, order.length)))
                .toList();
    }

    /** What an evaluation sums over its batches: the loss, its weight, the metric sums and the predictions in order. */
    private record EvalSums(double loss, long weight, Map<String, Double> metrics, long[] predictions) {
    }

    /**
     * Validation loss, the masters' bf16 operands rounded once for all batches; updates the best and the patience
     * counter. In a data-parallel run each rank evaluates its block of the batches and the ranks gather the sums.
     */
    private void evaluate(TrainerState state, List<Tensor> masters) {
        int mbs = cfg.microBatchSize();
        List<int[]> batches = IntStream.range(0, Math.ceilDiv(eval.size(), mbs))
                .mapToObj(b -> IntStream.range(b * mbs, Math.min((b + 1) * mbs, eval.size())).toArray()).toList();
        StepShare share = ranks.evalShare(batches.size(), device);
        try (var forwardPrecision = cfg.precision().use()) {
            eval.prepareEvaluation(batches, share);
        }
        EvalSums own = evaluate(masters, batches.subList(share.first(), share.end()));
        EvalSums all = ranks.distributed() ? gathered(own) : own;
        double loss = all.loss() / all.weight(); // not 0: TrainerBuilder refuses validation data without a label token
        Map<String, Double> extra = new HashMap<>(eval.metrics(all.metrics(), all.weight()));
        if (all.predictions().length > 0) { // every batch predicts when one does: in order, one per example
            extra.putAll(eval.predictionMetrics(Arrays.stream(all.predictions()).mapToInt(Math::toIntExact).toArray()));
        }
        extra.putAll(eval.preparationMetrics());
        boolean improved = improvesOnTheBest(state, loss, extra);
        if (improved) {
            state.bestEvalLoss = loss;
            state.bestEvalStep = state.step;
            state.evalsWithoutImprovement = 0;
        } else {
            state.evalsWithoutImprovement++;
        }
        EvalMetrics metrics = new EvalMetrics(state.step, loss, eval.lossIsTokenCrossEntropy() ? Math.exp(loss)
                : Double.NaN, improved, extra);
        state.evalHistory.add(metrics);
        listeners.forEach(l -> l.onEvaluation(metrics));
    }

    /**
     * Whether an evaluation of validation loss {@code loss} and metrics {@code extra} is the best so far by more than
     * {@code earlyStoppingThreshold}: the lowest loss, or the highest value of the objective's
     * {@link Objective#bestEvalMetric} (then kept as the best score).
     */
    private boolean improvesOnTheBest(TrainerState state, double loss, Map<String, Double> extra) {
        String metric = eval.bestEvalMetric().orElse(null);
        if (metric == null) {
            return state.bestEvalLoss == null || loss < state.bestEvalLoss - cfg.earlyStoppingThreshold();
        }
        double score = extra.get(metric);
        if (state.bestEvalScore != null && score <= state.bestEvalScore + cfg.earlyStoppingThreshold()) {
            return false;
        }
        state.bestEvalScore = score;
        return true;
    }

    /** Every rank's evaluation sums added (in rank order), and their predictions one after the other. */
    private EvalSums gathered(EvalSums own) {
        List<String> names = eval.metricNames();
        double[] values = new double[2 + names.size() + own.predictions().length];
        values[0] = own.loss();
        values[1] = own.weight();
        for (int i = 0; i < names.size(); i++) {
            values[2 + i] = own.metrics().getOrDefault(names.get(i), 0.0);
        }
        for (int i = 0; i < own.predictions().length; i++) {
            values[2 + names.size() + i] = own.predictions()[i];
        }
        double loss = 0;
        long weight = 0;
        double[] metricSums = new double[names.size()];
        List<long[]> predictions = new ArrayList<>();
        for (double[] rank : ranks.allGather(values, device)) {
            loss += rank[0];
            weight += (long) rank[1];
            for (int i = 0; i < names.size(); i++) {
                metricSums[i] += rank[2 + i];
            }
            predictions.add(Arrays.stream(rank, 2 + names.size(), rank.length).mapToLong(v -> (long) v).toArray());
        }
        Map<String, Double> metrics = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            metrics.put(names.get(i), metricSums[i]);
        }
        return new EvalSums(loss, weight, metrics,
                predictions.stream().flatMapToLong(Arrays::stream).toArray());
    }

    /** The sums over validation batches {@code batches} (this rank's block). */
    private EvalSums evaluate(List<Tensor> masters, List<int[]> batches) {
        double sum = 0;
        long weight = 0;
        Map<String, Double> extraSums = new HashMap<>();
        List<long[]> predictions = new ArrayList<>();
        model.train(false);
        try (var ng = Autograd.noGrad(); var forwardPrecision = cfg.precision().use();
             var castsScope = TensorScope.open(); var casts = Bf16Casts.of(cfg.precision(), masters)) {
            for (int[] idx : batches) {
                long w = eval.weight(idx);
                if (w == 0) {
                    continue;
                }
                try (var scope = TensorScope.open()) {
                    Objective.Loss l = eval.lossSum(idx);
                    sum += readBack(l, extraSums);
                    if (l.predictions() != null) {
                        predictions.add(l.predictions().toLongArray());
                    }
                }
                weight += w;
            }
        } finally {
            model.train(train.dropout());
        }
        return new EvalSums(sum, weight, extraSums, predictions.stream().flatMapToLong(Arrays::stream).toArray());
    }

    /** The checkpoint of the best evaluation (saved whenever checkpoints are on), else the newest one. */
    private Path bestCheckpoint(TrainerState state, Path lastCheckpoint) {
        if (cfg.outputDir() != null && state.bestEvalStep > 0) {
            Path best = cfg.outputDir().resolve(Checkpoints.PREFIX + state.bestEvalStep);
            if (Files.isDirectory(best)) {
                return best;
            }
        }
        return lastCheckpoint;
    }
}
