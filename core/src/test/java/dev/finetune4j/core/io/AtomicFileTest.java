package dev.finetune4j.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AtomicFileTest {
    @Test
    void aCompleteWriteReplacesTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("a.bin");
        Files.writeString(file, "old");
        AtomicFile.write(file, ch -> ch.write(ByteBuffer.wrap("new".getBytes(StandardCharsets.UTF_8))));
        assertEquals("new", Files.readString(file));
        assertEquals(List.of(file), list(dir));
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryOne(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("a.bin");
        Files.writeString(file, "old");
        IllegalStateException failure = new IllegalStateException("disk gone");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> AtomicFile.write(file, ch -> {
            ch.write(ByteBuffer.wrap("half".getBytes(StandardCharsets.UTF_8)));
            throw failure;
        }));
        assertSame(failure, thrown);
        assertEquals("old", Files.readString(file));
        assertEquals(List.of(file), list(dir));
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
