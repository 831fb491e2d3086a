package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code adapter_config.json} in PEFT's format: reading any supported {@code peft_type} into its config record,
 * writing a record back with the fields PEFT 0.21 reads.
 *
 * <p>Thread safety: stateless.
 */
final class AdapterConfigJson {
    static final String FILE = "adapter_config.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private AdapterConfigJson() {
    }

    /** Reads {@code dir/adapter_config.json}. */
    static PeftConfig read(Path dir) {
        return parse(readJson(dir), dir.resolve(FILE));
    }

    /** The JSON object of {@code dir/adapter_config.json}. */
    static JsonNode readJson(Path dir) {
        Path file = dir.resolve(FILE);
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            // a FIFO or device would block the reader forever
            throw new PeftException(file + " is not a regular file: an adapter folder holds adapter_config.json and "
                    + "adapter_model.safetensors as plain files");
        }
        JsonNode c;
        try {
            c = JSON.readTree(file.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new PeftException("missing " + file + ": an adapter folder holds adapter_config.json and adapter_model.safetensors");
        } catch (IOException e) {
            throw new PeftException(file + " is not valid JSON (" + e.getMessage() + "); the file is corrupt", e);
        }
        if (c == null || !c.isObject()) {
            throw new PeftException(file + " does not hold a JSON object; the file is corrupt or empty");
        }
        return c;
    }

    /** The config record of an adapter_config.json object read from {@code file}, by its method's mapping. */
    static PeftConfig parse(JsonNode c, Path file) {
        String type = c.path("peft_type").asText("");
        if (type.isEmpty()) {
            throw new PeftException(file + " has no peft_type; expected one of " + PeftRegistry.supportedTypes());
        }
        try {
            return PeftRegistry.forType(type).fromJson(c, file.toString());
        } catch (IllegalArgumentException | PeftException e) {
            throw new PeftException(located(file, e.getMessage()), e);
        }
    }

    /** {@code message} led by the file, unless it names it already (core's JsonFields messages do). */
    private static String located(Path file, String message) {
        return message != null && message.startsWith(file.toString()) ? message : file + ": " + message;
    }

    /** Writes {@code cfg} as {@code dir/adapter_config.json}; {@code facts} adds model-derived fields (token_dim, ...). */
    static void write(Path dir, PeftConfig cfg, Map<String, Object> facts) {
        ObjectNode o = JSON.createObjectNode();
        o.putNull("base_model_name_or_path");
        o.put("inference_mode", true);
        o.put("peft_type", cfg.peftType());
        o.put("peft_version", "0.21.0");
        o.putNull("revision");
        if (cfg.taskType() == null) {
            o.putNull("task_type");
        } else {
            o.put("task_type", cfg.taskType());
        }
        cfg.toJson(o);
        facts.forEach((k, v) -> o.set(k, JSON.valueToTree(v)));
        try {
            JSON.writeValue(dir.resolve(FILE).toFile(), o);
        } catch (IOException e) {
            throw new PeftException("cannot write " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }
}
