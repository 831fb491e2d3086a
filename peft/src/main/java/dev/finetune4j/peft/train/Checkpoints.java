package dev.finetune4j.peft.train;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Checkpoint folders {@code <outputDir>/checkpoint-<step>}, each holding
 * <ul>
 *   <li>{@code adapter/}: the adapter in PEFT's format (loadable by {@code Peft.load} and Python PEFT),</li>
 *   <li>{@code optimizer.safetensors}: AdamW's moments by parameter name, the step count in the metadata,</li>
 *   <li>{@code trainer_state.json}: step, histories, best evaluation ({@link TrainerState}).</li>
 * </ul>
 * A checkpoint is written into {@code .tmp-checkpoint-<step>} and renamed into place when complete, so a crash
 * at any moment leaves every earlier checkpoint intact and never a half-written one under a final name.
 */
public final class Checkpoints {
    /** Name prefix of checkpoint folders. */
    public static final String PREFIX = "checkpoint-";
    static final String ADAPTER = "adapter";
    static final String OPTIMIZER = "optimizer.safetensors";
    private static final String TEMP_PREFIX = ".tmp-";

    private final Path root;
    private final int keepLast;

    Checkpoints(Path root, int keepLast) {
        this.root = root;
        this.keepLast = keepLast;
    }

    /**
     * The newest complete checkpoint under {@code outputDir}, if any (half-written temporary folders are ignored).
     */
    public static Optional<Path> latest(Path outputDir) {
        List<Path> all = list(outputDir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /** Complete checkpoints under {@code outputDir}, oldest first. */
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

    /** Writes the checkpoint of {@code state.step} atomically and prunes old ones; returns its folder. */
    Path save(PeftModel model, Optimization optimization, TrainerState state) {
        String name = PREFIX + state.step;
        Path target = root.resolve(name);
        Path temp = root.resolve(TEMP_PREFIX + name);
        try {
            Files.createDirectories(root);
            deleteTree(temp); // left over from a crash
            Files.createDirectories(temp);
            model.save(temp.resolve(ADAPTER));
            TensorFiles.write(temp.resolve(OPTIMIZER), optimization.exportState(),
                    Map.of("step", Long.toString(optimization.adamSteps())));
            state.write(temp); // last: a folder with trainer_state.json is complete
            if (Files.exists(target)) { // re-running a step after resuming from an earlier checkpoint
                Path old = root.resolve(TEMP_PREFIX + "old-" + name);
                deleteTree(old);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage()
                    + "; check free disk space and permissions of outputDir", e);
        }
        prune(state.bestEvalStep);
        return target;
    }

    /**
     * Loads a checkpoint into a trainable model of the same adapter configuration and into the optimizer;
     * returns the loop state to continue from.
     */
    static TrainerState restore(Path dir, PeftModel model, Optimization optimization) {
        if (!Files.isRegularFile(dir.resolve(TrainerState.FILE))) {
            throw new IllegalArgumentException("no " + TrainerState.FILE + " in " + dir.toAbsolutePath()
                    + ": resume from a complete checkpoint folder (Checkpoints.latest(outputDir) finds the newest)");
        }
        TrainerState state = TrainerState.read(dir);
        Map<String, float[]> adapter = TensorFiles.read(dir.resolve(ADAPTER).resolve(TensorFiles.ADAPTER_FILE));
        for (Map.Entry<String, Tensor> e : model.trainableParameters().entrySet()) {
            float[] values = adapter.get(e.getKey());
            Tensor p = e.getValue();
            if (values == null || values.length != p.numel()) {
                throw new IllegalArgumentException("checkpoint " + dir + " has " + (values == null ? "no tensor '"
                        + e.getKey() + "'" : "'" + e.getKey() + "' of " + values.length + " values, expected " + p.numel())
                        + ": build the model with the adapter configuration the checkpoint was trained with");
            }
            MemorySegment.copy(values, 0, p.storage(), ValueLayout.JAVA_FLOAT_UNALIGNED, p.offset() * Float.BYTES, values.length);
        }
        Path optimizerFile = dir.resolve(OPTIMIZER);
        optimization.importState(TensorFiles.read(optimizerFile), Long.parseLong(TensorFiles.metadata(optimizerFile).get("step")));
        return state;
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
                    deleteTree(all.get(i));
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

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
