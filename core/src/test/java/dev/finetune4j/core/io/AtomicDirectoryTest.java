package dev.finetune4j.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Folders published by rename: into a fresh target, over an existing one, and deleting what is not there. */
class AtomicDirectoryTest {
    @TempDir
    Path root;

    private Path folderWith(String name, String file, String text) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name).resolve("nested"));
        Files.writeString(dir.resolve(file), text);
        return root.resolve(name);
    }

    @Test
    void movesIntoAFreshTarget() throws IOException {
        Path staged = folderWith(".tmp", "a.txt", "new");
        Path target = root.resolve("out");
        AtomicDirectory.replace(staged, target, root.resolve(".old"));
        assertEquals("new", Files.readString(target.resolve("nested/a.txt")));
        assertFalse(Files.exists(staged));
    }

    @Test
    void replacesAnExistingTargetAndRemovesTheOldOne() throws IOException {
        Path target = folderWith("out", "old.txt", "old");
        Path staged = folderWith(".tmp", "a.txt", "new");
        Path aside = folderWith(".old", "crash.txt", "left over from a crash");
        AtomicDirectory.replace(staged, target, aside);
        assertEquals("new", Files.readString(target.resolve("nested/a.txt")));
        assertFalse(Files.exists(target.resolve("nested/old.txt")));
        assertFalse(Files.exists(aside));
        assertFalse(Files.exists(staged));
    }

    @Test
    void syncsStagedFilesEvenReadOnlyOnes() throws IOException {
        Path staged = folderWith(".tmp", "a.txt", "new");
        Path readOnly = staged.resolve("nested/a.txt");
        assertTrue(readOnly.toFile().setWritable(false), "could not make the file read-only");
        // fsync opens each staged file and folder: a read-only file must not stop the publication
        AtomicDirectory.replace(staged, root.resolve("out"), root.resolve(".old"));
        assertEquals("new", Files.readString(root.resolve("out/nested/a.txt")));
    }

    @Test
    void deleteTreeIgnoresAMissingFolder() throws IOException {
        AtomicDirectory.deleteTree(root.resolve("missing"));
        assertTrue(Files.isDirectory(root));
    }
}
