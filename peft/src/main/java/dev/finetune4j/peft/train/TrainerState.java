package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The loop's progress, saved as {@code trainer_state.json} in every checkpoint. With the adapter and the
 * optimizer moments it is all a resume needs: data order and dropout masks are derived from the seed and the
 * step ({@link Seeds}), so no generator state is stored.
 */
final class TrainerState {
    static final String FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** Optimizer steps done, skipped ones included (the data position: epoch = step / stepsPerEpoch). */
    public int step;
    /** AdamW updates applied (skipped steps excluded). */
    public long optimizerSteps;
    public int skippedSteps;
    /**
     * Skipped steps whose micro-batches had no label token (all -100): nothing to learn, so no sign of divergence and
     * not counted against {@code maxNonFiniteSteps}. Absent (0) in checkpoints written before it existed.
     */
    public int unlabelledSteps;
    public List<Double> lossHistory = new ArrayList<>();
    public List<Double> gradNormHistory = new ArrayList<>();
    public List<EvalMetrics> evalHistory = new ArrayList<>();
    /**
     * Validation loss of the best evaluation so far: the lowest, or where the objective picks the best by a metric
     * ({@link Objective#bestEvalMetric}, GRPO's mean reward) the loss of that evaluation; null before the first one.
     */
    public Double bestEvalLoss;
    /**
     * The best value so far of the objective's {@link Objective#bestEvalMetric} (the highest); null before the first
     * evaluation and where the loss picks the best evaluation.
     */
    public Double bestEvalScore;
    /** Step of the best evaluation; 0 before the first evaluation. */
    public int bestEvalStep;
    /** Evaluations in a row without improvement. */
    public int evalsWithoutImprovement;
    /** What the data position means: a resume with other values would see other examples. */
    public long seed;
    public int microBatchSize;
    public int gradientAccumulationSteps;
    /** The ranks of a data-parallel run; 1 (alone) in checkpoints written before it was kept. */
    public int worldSize = 1;
    public boolean shuffle;
    /**
     * Optimizer steps that one preparation of the objective serves ({@link Objective#stepsPerPreparation}, GRPO's
     * {@code numIterations}): it maps steps to data positions. 1 in checkpoints written before it was kept.
     */
    public int stepsPerPreparation = 1;
    public int trainExamples;
    /** {@link Fingerprint} of the training examples' tokens; 0 in checkpoints written before it was kept. */
    public long dataFingerprint;
    /**
     * The settings that shape each update (learning rate and its schedule, AdamW's constants, clipping, precision),
     * by name, as text. A resume may change them on purpose (a lower rate, more steps), so a difference is reported,
     * not refused. Empty in checkpoints written before they were kept.
     */
    public Map<String, String> optimization = new LinkedHashMap<>();

    /** The state before the first step of a run of {@code totalSteps} steps under {@code cfg} on {@code train}. */
    static TrainerState initial(TrainingConfig cfg, Objective train, int totalSteps, int worldSize) {
        TrainerState s = new TrainerState();
        s.seed = cfg.seed();
        s.microBatchSize = cfg.microBatchSize();
        s.gradientAccumulationSteps = cfg.gradientAccumulationSteps();
        s.worldSize = worldSize;
        s.shuffle = cfg.shuffle();
        s.stepsPerPreparation = train.stepsPerPreparation();
        s.trainExamples = train.size();
        s.dataFingerprint = train.fingerprint();
        s.optimization.put("learningRate", Double.toString(cfg.learningRate()));
        s.optimization.put("schedule", cfg.schedule().toString());
        s.optimization.put("warmupSteps", Integer.toString(cfg.warmupStepsFor(totalSteps)));
        s.optimization.put("totalSteps", Integer.toString(totalSteps));
        s.optimization.put("adamBeta1", Double.toString(cfg.adamBeta1()));
        s.optimization.put("adamBeta2", Double.toString(cfg.adamBeta2()));
        s.optimization.put("adamEpsilon", Double.toString(cfg.adamEpsilon()));
        s.optimization.put("weightDecay", Double.toString(cfg.weightDecay()));
        s.optimization.put("maxGradNorm", Double.toString(cfg.maxGradNorm()));
        s.optimization.put("precision", cfg.precision().toString());
        return s;
    }

    /**
     * The optimization settings that differ between this saved state and {@code now}, the resuming run's
     * {@link #initial} state, as "name was X and is now Y" (those the checkpoint does not record are not compared).
     * The resumed run then differs from an uninterrupted one, which its caller should hear about.
     */
    List<String> optimizationChanges(TrainerState now) {
        List<String> changes = new ArrayList<>();
        optimization.forEach((name, saved) -> {
            String current = now.optimization.get(name);
            if (current != null) {
                compare(changes, name, saved, current);
            }
        });
        return changes;
    }

    /**
     * Fails with the differing settings when this state cannot continue a run that starts as {@code now} (the
     * {@link #initial} state of the resuming run): other batching, order or data.
     */
    void checkCompatible(TrainerState now, Path from) {
        List<String> diffs = new ArrayList<>();
        compare(diffs, "seed", seed, now.seed);
        compare(diffs, "microBatchSize", microBatchSize, now.microBatchSize);
        compare(diffs, "gradientAccumulationSteps", gradientAccumulationSteps, now.gradientAccumulationSteps);
        compare(diffs, "the data-parallel world size", worldSize, now.worldSize);
        compare(diffs, "shuffle", shuffle, now.shuffle);
        compare(diffs, "the steps each generation serves (GRPO numIterations)", stepsPerPreparation,
                now.stepsPerPreparation);
        compare(diffs, "training examples", trainExamples, now.trainExamples);
        if (diffs.isEmpty() && dataFingerprint != 0 && dataFingerprint != now.dataFingerprint) {
            diffs.add("the training examples' tokens differ (as many examples, other contents or order)");
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("cannot resume from " + from + ": " + String.join(", ", diffs)
                    + ". Resume with the settings and data of the interrupted run, or start a new run");
        }
    }

    /**
     * Fails, naming {@code file}, when the saved progress contradicts itself or this run: a step outside
     * [0, totalSteps], histories of another length or with null entries, more skipped steps than steps, a best
     * evaluation after the step. A checkpoint is only trusted as far as it is consistent.
     */
    void checkConsistent(int totalSteps, long optimizerStateSteps, Path file) {
        List<String> problems = new ArrayList<>();
        if (step < 0 || step > totalSteps) {
            problems.add("step " + step + " is outside [0, " + totalSteps + "] (this run's total steps; raise epochs "
                    + "or maxSteps to continue a longer run)");
        }
        if (lossHistory == null || lossHistory.size() != step || gradNormHistory == null || gradNormHistory.size() != step) {
            problems.add("the loss and gradient-norm histories must have one entry per step (" + step + "), they have "
                    + (lossHistory == null ? "none" : lossHistory.size()) + " and "
                    + (gradNormHistory == null ? "none" : gradNormHistory.size()));
        }
        if (lossHistory != null && lossHistory.contains(null) || gradNormHistory != null && gradNormHistory.contains(null)
                || evalHistory != null && evalHistory.contains(null)) {
            problems.add("a history holds null entries (a skipped step's loss is NaN, not null)");
        }
        if (stepsPerPreparation < 1) {
            problems.add("stepsPerPreparation " + stepsPerPreparation + " is below 1");
        }
        if (skippedSteps < 0 || skippedSteps > step) {
            problems.add("skippedSteps " + skippedSteps + " is outside [0, step " + step + "]");
        }
        if (unlabelledSteps < 0 || unlabelledSteps > skippedSteps) {
            problems.add("unlabelledSteps " + unlabelledSteps + " is outside [0, skippedSteps " + skippedSteps + "]");
        }
        if (optimizerSteps != step - skippedSteps || optimizerSteps != optimizerStateSteps) {
            problems.add("optimizerSteps " + optimizerSteps + " must equal step - skippedSteps (" + (step - skippedSteps)
                    + ") and the optimizer state's step count (" + optimizerStateSteps + ")");
        }
        if (bestEvalStep < 0 || bestEvalStep > step || (bestEvalLoss != null && !Double.isFinite(bestEvalLoss))
                || (bestEvalScore != null && !Double.isFinite(bestEvalScore))) {
            problems.add("the best evaluation (step " + bestEvalStep + ", loss " + bestEvalLoss + ", score " + bestEvalScore
                    + ") is not a finite loss and score at a step in [0, " + step + "]");
        }
        if (evalsWithoutImprovement < 0 || evalHistory == null) {
            problems.add("evalsWithoutImprovement " + evalsWithoutImprovement + " is negative or evalHistory is missing");
        }
        if (optimization == null || optimization.containsValue(null)) {
            problems.add("optimization is null or holds a null setting (leave out what is unknown)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("corrupt checkpoint " + file + ": " + String.join("; ", problems)
                    + ". Resume from an earlier checkpoint or start a new run");
        }
    }

    void write(Path dir) {
        try {
            JSON.writeValue(dir.resolve(FILE).toFile(), this);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }

    static TrainerState read(Path dir) {
        Path file = dir.resolve(FILE);
        try {
            TrainerState state = JSON.readValue(file.toFile(), TrainerState.class);
            if (state == null) {
                throw new IllegalArgumentException(file + " is empty: point resume at a complete checkpoint folder");
            }
            return state;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (" + e.getMessage()
                    + "): point resume at a complete checkpoint folder such as output/checkpoint-100", e);
        }
    }

    private static void compare(List<String> diffs, String name, Object saved, Object now) {
        if (!saved.equals(now)) {
            diffs.add(name + " was " + saved + " and is now " + now);
        }
    }
}
