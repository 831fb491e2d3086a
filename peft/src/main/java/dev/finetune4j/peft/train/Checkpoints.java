package dev.finetune4j.peft.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.optim.OptimizerState;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Checkpoint folders {@code <outputDir>/checkpoint-<step>}, each holding
 * <ul>
 *   <li>{@code adapter/}: the adapter in PEFT's format (loadable by {@code Peft.load} and Python PEFT),</li>
 *   <li>{@code optimizer.safetensors}: AdamW's moments by parameter name ({@code <name>.exp_avg},
 *       {@code <name>.exp_avg_sq}), the step counts in the metadata,</li>
 *   <li>{@code trainer_state.json}: step, histories, best evaluation ({@link TrainerState}),</li>
 *   <li>{@code prepared_weights.safetensors}, only in a checkpoint taken between the steps that one preparation
 *       serves (GRPO with {@code numIterations} above 1, in the middle of a generation's steps): the trainable weights
 *       the preparation was made with, by the adapter's names, so that the resumed run makes it again exactly.</li>
 * </ul>
 * A checkpoint is written into {@code .tmp-checkpoint-<step>} and renamed into place when complete, so a crash
 * at any moment leaves every earlier checkpoint intact and never a half-written one under a final name.
 */
public final class Checkpoints {
    /** Name prefix of checkpoint folders. */
    public static final String PREFIX = "checkpoint-";
    static final String ADAPTER = "adapter";
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String ADAPTER_FILE = "adapter_model.safetensors";
    static final String PREPARED_WEIGHTS = "prepared_weights.safetensors";
    private static final String TEMP_PREFIX = ".tmp-";
    private static final String STEPS = "steps";
    private static final String PARAMETER_STEPS = "parameter_steps";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);

    private final Path root;
    private final int keepLast;

    private Checkpoints(Path root, int keepLast) {
        this.root = root;
        this.keepLast = keepLast;
    }

    /**
     * The checkpoints of a run into {@code root}, whose folder is created now: an outputDir that is a file or cannot
     * be written fails before the first step, not after hours of training. A new run ({@code resuming} false) refuses
     * a folder that already holds checkpoints, as they would mix with its own: pruning keeps the highest steps, so an
     * earlier, longer run's checkpoints would outlive this run's, and {@link #latest} would name one of them.
     */
    static Checkpoints open(Path root, int keepLast, boolean resuming) {
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create outputDir " + root.toAbsolutePath() + " for checkpoints ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + "); set outputDir to a folder that can be "
                    + "created and written", e);
        }
        List<Path> earlier = list(root);
        if (!resuming && !earlier.isEmpty()) {
            throw new IllegalStateException("outputDir " + root.toAbsolutePath() + " already holds " + earlier.size()
                    + " checkpoint(s) of an earlier run (the newest: " + earlier.getLast().getFileName() + "); continue "
                    + "that run with resume(Checkpoints.latest(outputDir).orElseThrow()), or train into an empty "
                    + "outputDir, or delete them first");
        }
        return new Checkpoints(root, keepLast);
    }

    /**
     * The newest complete checkpoint under {@code outputDir}, if any (half-written temporary folders are ignored).
     *
     * @param outputDir the trainer's {@code outputDir}
     * @return the checkpoint folder, or empty
     */
    public static Optional<Path> latest(Path outputDir) {
        List<Path> all = list(outputDir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /**
     * Complete checkpoints under {@code outputDir}, oldest first.
     *
     * @param outputDir the trainer's {@code outputDir}
     * @return the checkpoint folders
     */
    public static List<Path> list(Path outputDir) {
        if (!Files.isDirectory(outputDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> stepOf(p) >= 0 && Files.isRegularFile(p.resolve(TrainerState.FILE)))
                    .sorted(Comparator.comparingInt(Checkpoints::stepOf))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + outputDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the checkpoint of {@code state.step} atomically and prunes old ones; returns its folder.
     *
     * @param prepared the weights the current preparation was made with, when {@code state.step} is between the steps
     *                 it serves; else null
     */
    Path save(TrainedModel model, Optimization optimization, TrainerState state, PreparedWeights prepared) {
        String name = PREFIX + state.step;
        Path target = root.resolve(name);
        Path temp = root.resolve(TEMP_PREFIX + name);
        // NOTE: a pending interrupt (the loop stops after this step) does not break the save: core's file writes
        // are InterruptSafe, and the flag stays set for the loop to see
        try {
            Files.createDirectories(root);
            AtomicDirectory.deleteTree(temp); // left over from a crash
            Files.createDirectories(temp);
            model.save(temp.resolve(ADAPTER));
            writeOptimizer(temp.resolve(OPTIMIZER), optimization.exportState());
            if (prepared != null) {
                SafetensorsWriter.write(temp.resolve(PREPARED_WEIGHTS), prepared.tensors(), Map.of());
            }
            state.write(temp); // last: a folder with trainer_state.json is complete
            // target exists when a step is re-run after resuming from an earlier checkpoint
            AtomicDirectory.replace(temp, target, root.resolve(TEMP_PREFIX + "old-" + name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage()
                    + "; check free disk space and permissions of outputDir", e);
        }
        prune(state.bestEvalStep);
        return target;
    }

    /**
     * What a resume continues from.
     *
     * @param state           the loop state
     * @param preparedWeights the weights the interrupted preparation was made with, by name, when the checkpoint was
     *                        taken between the steps it serves; else null
     */
    record Restored(TrainerState state, Map<String, float[]> preparedWeights) {
    }

    /**
     * Loads a checkpoint into a trainable model of the same adapter configuration and into the optimizer, and returns
     * the loop state to continue from. Everything is read and checked (consistency, compatibility with {@code fresh},
     * the state the resuming run starts from, tensor names, sizes and values, the prepared weights a checkpoint between
     * a preparation's steps needs) before the model changes, so a refused checkpoint leaves the model as it was.
     */
    static Restored restore(Path dir, TrainedModel model, Optimization optimization, int totalSteps, TrainerState fresh) {
        if (!Files.isRegularFile(dir.resolve(TrainerState.FILE))) {
            throw new IllegalArgumentException("no " + TrainerState.FILE + " in " + dir.toAbsolutePath()
                    + ": resume from a complete checkpoint folder (Checkpoints.latest(outputDir) finds the newest)");
        }
        TrainerState state = TrainerState.read(dir);
        Path adapterFile = dir.resolve(ADAPTER).resolve(ADAPTER_FILE);
        OptimizerState optimizer;
        try {
            optimizer = readOptimizer(dir.resolve(OPTIMIZER));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
        state.checkConsistent(totalSteps, optimizer.steps(), dir.resolve(TrainerState.FILE));
        if (stepOf(dir) >= 0 && stepOf(dir) != state.step) {
            throw new IllegalArgumentException("corrupt checkpoint " + dir.resolve(TrainerState.FILE) + ": step " + state.step
                    + " in a folder named for step " + stepOf(dir) + "; resume from an earlier checkpoint");
        }
        state.checkCompatible(fresh, dir);
        Map<String, Tensor> parameters = model.trainableParameters();
        Map<String, float[]> weights = readWeights(adapterFile, parameters, dir);
        Map<String, float[]> prepared = null;
        if (state.step % state.stepsPerPreparation != 0) {
            Path file = dir.resolve(PREPARED_WEIGHTS);
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("checkpoint " + dir + " was taken after step " + state.step + ", between "
                        + "the " + state.stepsPerPreparation + " steps that one generation serves (GRPO numIterations), "
                        + "but has no " + PREPARED_WEIGHTS + " to make that generation again; the checkpoint is incomplete, "
                        + "resume from one taken at a multiple of " + state.stepsPerPreparation + " steps");
            }
            prepared = readWeights(file, parameters, dir);
        }
        optimization.importState(optimizer); // checks every slot before it copies one; the run's own, fresh state
        weights.forEach((name, values) -> parameters.get(name).copyFrom(values));
        List<String> changes = state.optimizationChanges(fresh);
        if (!changes.isEmpty()) {
            LOG.warn("resuming from {} with other optimization settings than the run that wrote it ({}): the result will "
                    + "differ from an uninterrupted run's", dir, String.join(", ", changes));
        }
        state.optimization = fresh.optimization; // later checkpoints record the settings they were trained with
        return new Restored(state, prepared);
    }

    /** The trainable tensors in {@code file} of checkpoint {@code dir}, checked against the parameters' names and shapes. */
    private static Map<String, float[]> readWeights(Path file, Map<String, Tensor> parameters, Path dir) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
                Tensor p = e.getValue();
                Shape saved = f.contains(e.getKey()) ? Shape.of(f.info(e.getKey()).shape()) : null;
                if (!p.shape().equals(saved)) {
                    throw new IllegalArgumentException("checkpoint " + dir + " has " + (saved != null
                            ? "'" + e.getKey() + "' of shape " + saved + ", expected " + p.shape()
                            : "no tensor '" + e.getKey() + "'") + " in " + file.getFileName()
                            + ": build the model with the adapter configuration the checkpoint was trained with");
                }
                float[] values = f.tensor(e.getKey()).toFloatArray();
                requireFinite(values, false, "'" + e.getKey() + "'", file);
                weights.put(e.getKey(), values);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
        return weights;
    }

    /** AdamW's state as F32 tensors by slot name, the step counts as metadata strings. */
    private static void writeOptimizer(Path file, OptimizerState state) throws IOException {
        try (TensorScope scope = TensorScope.detached()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            state.slots().forEach((name, values) -> tensors.put(name, Tensor.of(scope, values, values.length)));
            SafetensorsWriter.write(file, tensors, Map.of(STEPS, Long.toString(state.steps()),
                    PARAMETER_STEPS, JSON.writeValueAsString(state.parameterSteps())));
        }
    }

    private static OptimizerState readOptimizer(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, float[]> slots = new LinkedHashMap<>();
            for (String name : f.names()) {
                float[] values = f.tensor(name).toFloatArray();
                // AdamW's second moment is a running mean of squares: a negative value is as corrupt as a NaN
                requireFinite(values, name.endsWith(".exp_avg_sq"), "'" + name + "'", file);
                slots.put(name, values);
            }
            Map<String, String> meta = f.metadata();
            if (!meta.containsKey(STEPS) || !meta.containsKey(PARAMETER_STEPS)) {
                throw new IllegalArgumentException(file + " has no '" + STEPS + "' and '" + PARAMETER_STEPS
                        + "' metadata: it was not written by this trainer; resume from a checkpoint folder it wrote");
            }
            Map<String, Long> parameterSteps;
            try {
                parameterSteps = JSON.readValue(meta.get(PARAMETER_STEPS), new TypeReference<>() {
                });
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(file + ": metadata '" + PARAMETER_STEPS + "' is not a JSON object of "
                        + "step counts (" + e.getOriginalMessage() + "); the checkpoint is corrupt, resume from an earlier one", e);
            }
            long steps;
            try {
                steps = Long.parseLong(meta.get(STEPS));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + ": metadata '" + STEPS + "' = '" + meta.get(STEPS)
                        + "' is not a step count; the checkpoint is corrupt, resume from an earlier one", e);
            }
            if (steps < 0) {
                throw new IllegalArgumentException(file + ": negative step count " + steps + "; the checkpoint is corrupt");
            }
            for (Map.Entry<String, Long> e : parameterSteps.entrySet()) {
                if (e.getValue() == null || e.getValue() < 0 || e.getValue() > steps) {
                    throw new IllegalArgumentException(file + ": parameter '" + e.getKey() + "' has " + e.getValue()
                            + " updates, outside [0, " + steps + "]; the checkpoint is corrupt, resume from an earlier one");
                }
            }
            return new OptimizerState(steps, parameterSteps, slots);
        }
    }

    /** Fails naming {@code what} in {@code file} when a value is NaN or infinite (or negative, when it must not be). */
    private static void requireFinite(float[] values, boolean nonNegative, String what, Path file) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i]) || (nonNegative && values[i] < 0)) {
                throw new IllegalArgumentException("corrupt checkpoint " + file + ": " + what + " holds " + values[i]
                        + " at index " + i + (nonNegative ? " (must be finite and >= 0)" : " (must be finite)")
                        + "; resume from an earlier checkpoint");
            }
        }
    }

    /** Deletes all but the newest {@code keepLast} checkpoints, never the one of {@code protectedStep}. */
    private void prune(int protectedStep) {
        if (keepLast == 0) {
            return;
        }
        List<Path> all = list(root);
        for (int i = 0; i < all.size() - keepLast; i++) {
            if (stepOf(all.get(i)) != protectedStep) {
                try {
                    AtomicDirectory.deleteTree(all.get(i));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot delete old checkpoint " + all.get(i) + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** The step of a folder named checkpoint-N, or -1. */
    static int stepOf(Path p) {
        String n = p.getFileName().toString();
        if (!n.startsWith(PREFIX)) {
            return -1;
        }
        try {
            return Integer.parseInt(n.substring(PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
