package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The loop's progress, saved as {@code trainer_state.json} in every checkpoint. With the adapter and the
 * optimizer moments it is all a resume needs: data order and dropout masks are derived from the seed and the
 * step ({@link Seeds}), so no generator state is stored.
 */
final class TrainerState {
    static final String FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Optimizer steps done, skipped ones included (the data position: epoch = step / stepsPerEpoch). */
    public int step;
    /** AdamW updates applied (skipped steps excluded). */
    public long optimizerSteps;
    public int skippedSteps;
    public List<Double> lossHistory = new ArrayList<>();
    public List<Double> gradNormHistory = new ArrayList<>();
    public List<EvalMetrics> evalHistory = new ArrayList<>();
    /** Lowest validation loss so far; null before the first evaluation. */
    public Double bestEvalLoss;
    /** Step of the lowest validation loss; 0 before the first evaluation. */
    public int bestEvalStep;
    /** Evaluations in a row without improvement. */
    public int evalsWithoutImprovement;
    /** What the data position means: a resume with other values would see other examples. */
    public long seed;
    public int microBatchSize;
    public int gradientAccumulationSteps;
    public boolean shuffle;
    public int trainExamples;

    static TrainerState initial(TrainingConfig cfg, int trainExamples) {
        TrainerState s = new TrainerState();
        s.seed = cfg.seed();
        s.microBatchSize = cfg.microBatchSize();
        s.gradientAccumulationSteps = cfg.gradientAccumulationSteps();
        s.shuffle = cfg.shuffle();
        s.trainExamples = trainExamples;
        return s;
    }

    /** Fails with the differing settings when this state cannot continue under {@code cfg} on that data. */
    void checkCompatible(TrainingConfig cfg, int examples, Path from) {
        List<String> diffs = new ArrayList<>();
        compare(diffs, "seed", seed, cfg.seed());
        compare(diffs, "microBatchSize", microBatchSize, cfg.microBatchSize());
        compare(diffs, "gradientAccumulationSteps", gradientAccumulationSteps, cfg.gradientAccumulationSteps());
        compare(diffs, "shuffle", shuffle, cfg.shuffle());
        compare(diffs, "training examples", trainExamples, examples);
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("cannot resume from " + from + ": " + String.join(", ", diffs)
                    + ". Resume with the settings and data of the interrupted run, or start a new run");
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
            return JSON.readValue(file.toFile(), TrainerState.class);
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
