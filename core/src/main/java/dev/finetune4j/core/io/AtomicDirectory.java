package dev.finetune4j.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Publishes a folder written under a temporary name by renaming it into place, so that readers see either the
 * old folder or the complete new one, never half of one. Used for saved adapters and training checkpoints.
 * Stateless and thread-safe; two callers replacing the same target at once is the callers' race to avoid.
 */
public final class AtomicDirectory {
    private AtomicDirectory() {
    }

    /**
     * Moves {@code staged} to {@code target}. An existing {@code target} is first renamed to {@code aside}, then
     * deleted once {@code staged} is in place; a left-over {@code aside} from a crash is deleted beforehand.
     * All three paths must be on one file system (siblings are), as the renames are atomic moves.
     *
     * @throws IOException when a rename or a deletion fails; {@code staged} is then left for the caller
     */
    public static void replace(Path staged, Path target, Path aside) throws IOException {
        deleteTree(aside);
        if (Files.exists(target)) {
            Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(aside);
        } else {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** Deletes {@code dir} and everything under it; nothing happens if it does not exist. */
    public static void deleteTree(Path dir) throws IOException {
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
