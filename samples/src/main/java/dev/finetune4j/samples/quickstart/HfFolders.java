package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.LanguageModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/** Writes a model as a Hugging Face folder ({@code config.json} + {@code model.safetensors}), atomically. */
public final class HfFolders {
    private HfFolders() {
    }

    /**
     * Writes {@code model}'s weights under Hugging Face names with {@code config} into {@code dir}, through a
     * temporary sibling folder renamed into place, so a crash never leaves a half-written model under {@code dir}.
     */
    public static void save(LanguageModel model, JsonNode config, Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + "-");
        try {
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("config.json").toFile(), config);
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
            deleteRecursively(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteRecursively(tmp);
        }
    }

    /** Deletes a folder and everything in it; nothing happens when it does not exist. */
    public static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
