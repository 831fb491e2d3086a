package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LibraryFinderTest {

    @Test
    void triesSonamesFirstThenFoldersThenTheEnvironmentVariable() {
        List<String> order = LibraryFinder.candidates(List.of("libx.so.13", "libx.so.12"),
                List.of(Path.of("/a"), Path.of("/b")), "/env1::/env2");
        assertEquals(List.of("libx.so.13", "libx.so.12", "/a/libx.so.13", "/a/libx.so.12", "/b/libx.so.13",
                "/b/libx.so.12", "/env1/libx.so.13", "/env1/libx.so.12", "/env2/libx.so.13", "/env2/libx.so.12"), order);
    }

    @Test
    void findsPipNvidiaLibFolders(@TempDir Path home) throws Exception {
        Path lib = Files.createDirectories(home.resolve(".local/lib/python3.12/site-packages/nvidia/cublas/lib"));
        Files.createDirectories(home.resolve(".local/lib/python3.12/site-packages/nvidia/empty"));
        List<Path> folders = LibraryFinder.usualFolders(Map.of("HOME", home.toString()));
        assertTrue(folders.contains(lib), folders.toString());
        assertTrue(folders.indexOf(Path.of("/usr/local/cuda/lib64")) < folders.indexOf(lib), "CUDA folders first");
        assertTrue(folders.stream().noneMatch(p -> p.toString().contains("empty")), "only folders with a lib");
    }

    @Test
    void aMissingLibraryNamesItselfAndTheVariableToSet(@TempDir Path empty) {
        try (Arena arena = Arena.ofConfined()) {
            LibraryFinder.NotFound e = assertThrows(LibraryFinder.NotFound.class, () -> LibraryFinder.load(
                    "the test library", List.of("libfinetune4j-absent.so.1"), List.of(empty), empty.toString(), arena));
            assertTrue(e.getMessage().startsWith("the test library not found (libfinetune4j-absent.so.1 by soname"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("then in " + empty), e.getMessage());
            assertTrue(e.getMessage().contains("FINETUNE4J_CUDA_LIBS"), e.getMessage());
        }
    }

    @Test
    void loadsALibraryFromTheEnvironmentFolderWhenItIsNotOnTheLoaderPath(@TempDir Path dir) throws Exception {
        Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(libc), "needs glibc at " + libc);
        Files.copy(libc, dir.resolve("libfinetune4j-copy.so.1"));
        try (Arena arena = Arena.ofConfined()) {
            var lookup = LibraryFinder.load("a copy of libc", List.of("libfinetune4j-copy.so.1"), List.of(),
                    dir.toString(), arena);
            assertTrue(lookup.find("strlen").isPresent());
        }
    }
}
