package dev.finetune4j.core.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Publishes a folder written under a temporary name by renaming it into place, so that readers see either the
 * old folder or the complete new one, never half of one. Used for saved adapters and training checkpoints.
 * The staged files and folders are synced to disk before the rename and the parent folder after it, so a power
 * loss cannot leave a renamed folder whose files are still empty, nor lose the rename itself.
 * Stateless and thread-safe; two callers replacing the same target at once is the callers' race to avoid.
 */
public final class AtomicDirectory {
    private AtomicDirectory() {
    }

    /**
     * Moves {@code staged} to {@code target}. An existing {@code target} is first renamed to {@code aside}, then
     * deleted once {@code staged} is in place; a left-over {@code aside} from a crash is deleted beforehand.
     * All three paths must be on one file system (siblings are), as the renames are atomic moves. Works on a thread
     * whose interrupt flag is set too ({@link InterruptSafe}).
     *
     * @param staged the finished folder, a sibling of {@code target}
     * @param target where the folder belongs
     * @param aside the temporary name of the replaced folder, a sibling of {@code target}
     * @throws IOException when a rename or a deletion fails; {@code staged} is then left for the caller
     */
    public static void replace(Path staged, Path target, Path aside) throws IOException {
        InterruptSafe.call(() -> {
            move(staged, target, aside);
            return null;
        });
    }

    private static void move(Path staged, Path target, Path aside) throws IOException {
        deleteTree(aside);
        syncTree(staged);
        Path parent = target.toAbsolutePath().getParent();
        if (Files.exists(target)) {
            Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parent);
            deleteTree(aside);
        } else {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parent);
        }
    }

    /** Forces every file under {@code dir} to disk, then every folder (deepest first), so their entries are too. */
    static void syncTree(Path dir) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(dir)) {
            all = s.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) { // fsync needs no write access
                    ch.force(true);
                }
            }
        }
        for (Path p : all) {
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                syncDirectory(p);
            }
        }
    }

    /**
     * Forces a folder's entries (created, renamed files) to disk. POSIX systems allow opening a folder for this;
     * where the platform refuses (Windows), renames are journaled by the file system and there is nothing to force.
     */
    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (AccessDeniedException | UnsupportedOperationException e) {
            // NOTE: Windows cannot open a directory as a channel; its NTFS metadata journal covers the rename
        }
    }

    /**
     * Refuses a target whose replacement as a whole would delete what the user works in or reads from: the current
     * directory or a folder above it, or one of {@code kept} (a model's or adapter's folder) or a folder above one.
     * Links are resolved as far as the paths exist, so a link cannot hide that two paths are one.
     *
     * @param target the folder about to be replaced, existing or not
     * @param action what replaces it, for the message, e.g. {@code "export ONNX into"}
     * @param kept   folders that must survive, each with the name the message gives it (e.g. {@code "the model's
     *               folder"}); a null folder is ignored
     * @throws IllegalArgumentException naming the target and what it would delete
     */
    public static void requireReplaceable(Path target, String action, Map<Path, String> kept) {
        Path folder = canonical(target);
        Path cwd = canonical(Path.of(""));
        if (cwd.startsWith(folder)) {
            throw new IllegalArgumentException("cannot " + action + " " + folder + ": it is the current directory " + cwd
                    + (cwd.equals(folder) ? "" : " or a folder above it") + ", which would be replaced as a whole; "
                    + "choose a new or empty folder");
        }
        for (Map.Entry<Path, String> k : kept.entrySet()) {
            Path source = k.getKey() == null ? null : canonical(k.getKey());
            if (source != null && source.startsWith(folder)) {
                throw new IllegalArgumentException("cannot " + action + " " + folder + ": it " + (source.equals(folder)
                        ? "is" : "contains") + " " + k.getValue() + " " + source + ", which would be deleted; choose a "
                        + "new or empty folder outside it");
            }
        }
    }

    /** The absolute path with links resolved as far as it exists. */
    private static Path canonical(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return absolute;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(absolute));
        } catch (IOException e) {
            return absolute; // NOTE: unreadable on the way up; compare the path as given rather than fail here
        }
    }

    /**
     * Deletes {@code dir} and everything under it; nothing happens if it does not exist.
     *
     * @param dir the folder to delete
     * @throws IOException when a file or folder cannot be deleted
     */
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
