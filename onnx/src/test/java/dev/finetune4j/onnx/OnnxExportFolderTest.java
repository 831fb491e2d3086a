package dev.finetune4j.onnx;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The export replaces its folder as a whole, so it refuses any folder holding the user's files (replacing a previous
 * export is in {@link OnnxExportFailuresTest}).
 */
class OnnxExportFolderTest {
    @TempDir
    Path tmp;

    @Test
    void aFolderHoldingOtherFilesIsRefusedAndKeepsThem() throws Exception {
        Path target = tmp.resolve("work");
        Files.createDirectories(target.resolve("src"));
        Files.writeString(target.resolve("notes.txt"), "mine");
        Files.writeString(target.resolve("src/Main.java"), "class Main {}");
        try (LanguageModel model = AutoModel.loadCausalLM(OnnxExporterTest.resource("hf-tiny/gpt2"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(model, target));
            assertTrue(e.getMessage().contains(target.toString()) && e.getMessage().contains("notes.txt, src")
                    && e.getMessage().contains("new or empty folder"), e.getMessage());
        }
        assertEquals("mine", Files.readString(target.resolve("notes.txt")));
        assertEquals("class Main {}", Files.readString(target.resolve("src/Main.java")));
        assertEquals(List.of("work"), entries(tmp), "nothing is written beside the folder either");
    }

    @Test
    void theModelsOwnFolderAndTheFoldersAboveItAreRefused() throws Exception {
        Path source = copyOfTinyGpt2(tmp.resolve("models/gpt2"));
        try (LanguageModel model = AutoModel.loadCausalLM(source)) {
            for (Path target : List.of(source, tmp.resolve("models"))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(model, target));
                assertTrue(e.getMessage().contains("the model's folder " + source.toRealPath()), e.getMessage());
            }
        }
        assertEquals(List.of("config.json", "model.safetensors"), entries(source));
        assertEquals(List.of("models"), entries(tmp));
    }

    @Test
    void theCurrentDirectoryAndTheFoldersAboveItAreRefused() {
        // checked on ExportFolder alone: a regression here must not delete the module being built
        Path cwd = Path.of("").toAbsolutePath();
        for (Path target : List.of(Path.of("."), Path.of(""), cwd.getParent())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ExportFolder.requireNotProtected(target, List.of()));
            assertTrue(e.getMessage().contains("current directory"), e.getMessage());
        }
        ExportFolder.requireNotProtected(tmp.resolve("onnx"), List.of(tmp.resolve("model")));
    }

    private static Path copyOfTinyGpt2(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String file : List.of("config.json", "model.safetensors")) {
            Files.copy(OnnxExporterTest.resource("hf-tiny/gpt2/" + file), dir.resolve(file));
        }
        return dir;
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
