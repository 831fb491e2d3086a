package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes a model as a Hugging Face folder that transformers, vLLM and this library load as they are:
 * {@code config.json}, {@code model.safetensors} and the tokenizer files. A merged adapter is saved the same way
 * ({@code HfModelFolder.save(peftModel.mergeAndUnload(), dir)}).
 *
 * <pre>{@code
 * HfModelFolder.save(model, Path.of("merged"));                       // a model loaded from a folder
 * HfModelFolder.save(model, configJson, Path.of("tokenizer-dir"), Path.of("out"));   // one built in memory
 * }</pre>
 *
 * <p>The folder is written under a temporary sibling name and renamed into place (an existing folder is
 * replaced), so a crash never leaves half a model under {@code dir}. Thread safety: stateless.
 */
public final class HfModelFolder {
    /** The tokenizer files of a Hugging Face model folder, copied when present. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model");

    private HfModelFolder() {
    }

    /**
     * Saves a model loaded with {@link AutoModel#loadCausalLM}: its weights, and the config.json and tokenizer
     * files of the folder it came from.
     *
     * @param model the model to save
     * @param dir the target folder, created or replaced
     * @throws IllegalArgumentException for a model built in memory (use the other overload)
     * @throws IOException when a file cannot be read or written
     */
    public static void save(LanguageModel model, Path dir) throws IOException {
        Path source = model.source().orElseThrow(() -> new IllegalArgumentException("this model was not loaded from a "
                + "folder, so its config.json is unknown: call save(model, configJson, tokenizerFolder, dir)"));
        save(model, AutoModel.readConfig(source), source, dir);
    }

    /**
     * Saves {@code model}'s weights under Hugging Face names with {@code config}, and the tokenizer files found
     * in {@code tokenizerFolder} (null: none).
     *
     * @param model the model to save
     * @param config the config.json content to write
     * @param tokenizerFolder the folder whose tokenizer files are copied, or null
     * @param dir the target folder, created or replaced; never the model's own folder (whose weights a bf16 model
     *            still reads, mapped), the tokenizer's, the current directory or one above them
     * @throws IllegalArgumentException when {@code dir} is such a folder, which replacing would delete
     * @throws IOException when a file cannot be read or written
     */
    public static void save(LanguageModel model, JsonNode config, Path tokenizerFolder, Path dir) throws IOException {
        Map<Path, String> kept = new LinkedHashMap<>();
        model.source().ifPresent(source -> kept.put(source, "the model's own folder"));
        if (tokenizerFolder != null) {
            kept.putIfAbsent(tokenizerFolder, "the tokenizer's folder");
        }
        AtomicDirectory.requireReplaceable(dir, "save the model to", kept);
        Path abs = dir.toAbsolutePath();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + abs.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(tmp);
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("config.json").toFile(), config);
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
            if (tokenizerFolder != null) {
                for (String name : TOKENIZER_FILES) {
                    Path file = tokenizerFolder.resolve(name);
                    if (Files.isRegularFile(file)) {
                        Files.copy(file, tmp.resolve(name));
                    }
                }
            }
            AtomicDirectory.replace(tmp, abs, parent.resolve("." + abs.getFileName() + ".old-" + UUID.randomUUID()));
        } finally {
            AtomicDirectory.deleteTree(tmp);
        }
    }
}
