package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.UUID;

/**
 * An adapter folder read into host memory: its {@code adapter_config.json}, parsed, and the tensors of its
 * {@code adapter_model.safetensors} as float32. Reading needs no model, so it can happen while the model is busy:
 * an inference engine reads a folder while it decodes, and holds its model only to put the adapter on
 * ({@link Peft#load(dev.finetune4j.core.models.LanguageModel, AdapterFiles)}).
 *
 * <pre>{@code
 * try (AdapterFiles files = AdapterFiles.read(Path.of("runs/sft/adapter"))) {
 *     PeftModel model = Peft.load(base, files);
 * }
 * }</pre>
 *
 * <p>Thread safety: immutable once read; {@link #close()} frees the tensors, after which it must not be loaded.
 */
public final class AdapterFiles implements AutoCloseable {
    private final Path dir;
    private final JsonNode json;
    private final PeftConfig config;
    private final Map<String, Tensor> weights;
    private final TensorScope scope;

    private AdapterFiles(Path dir, JsonNode json, PeftConfig config, Map<String, Tensor> weights, TensorScope scope) {
        this.dir = dir;
        this.json = json;
        this.config = config;
        this.weights = weights;
        this.scope = scope;
    }

    /**
     * Reads an adapter folder saved by this library or by Python PEFT.
     *
     * @param dir the adapter folder
     * @return its config and weights, in host memory until closed
     * @throws PeftException when the folder is missing, its config is malformed or its weights are missing or corrupt
     */
    public static AdapterFiles read(Path dir) {
        JsonNode json = AdapterConfigJson.readJson(dir);
        PeftConfig config = AdapterConfigJson.parse(json, configFile(dir));
        TensorScope scope = TensorScope.detached(Device.cpu());
        try {
            return new AdapterFiles(dir, json, config, AdapterWeights.read(weightsFile(dir), scope), scope);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /**
     * The adapter's method and settings.
     *
     * @return the parsed {@code adapter_config.json}
     */
    public PeftConfig config() {
        return config;
    }

    /**
     * The folder it was read from.
     *
     * @return the adapter folder
     */
    public Path dir() {
        return dir;
    }

    /**
     * Whether the adapter was trained on an NF4-quantized base (QLoRA): its {@code adapter_config.json} says so. Load
     * it onto a base quantized first ({@code QloraInjector.quantize}) to get the logits it was trained with.
     *
     * @return true for a QLoRA adapter saved by this library
     */
    public boolean trainedOnQuantizedBase() {
        return BaseModelRecord.trainedOnQuantizedBase(json);
    }

    JsonNode json() {
        return json;
    }

    /**
     * The weights file's tensors by PEFT's names ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}),
     * float32 on the host, valid until {@link #close()}.
     *
     * @return a read-only view of the tensors, in the file's order
     */
    public Map<String, Tensor> weights() {
        return Collections.unmodifiableMap(weights);
    }

    /**
     * What the adapter's {@code adapter_config.json} records about its base model ({@code base_model_name_or_path},
     * PEFT's {@code auto_mapping}, the QLoRA marker), to be written unchanged beside an adapter derived from this one.
     *
     * @return the recorded fields by JSON name; absent fields are left out
     */
    public Map<String, Object> baseModelFacts() {
        return BaseModelRecord.recorded(json);
    }

    /**
     * Writes an adapter folder in PEFT's format: {@code adapter_config.json} from {@code config} and {@code facts},
     * {@code adapter_model.safetensors} from {@code weights} (as float32), into a temporary sibling folder renamed
     * to {@code dir} at the end, so that a failure never leaves half an adapter.
     *
     * @param dir     the adapter folder; replaced when it exists
     * @param config  the adapter's method and settings
     * @param weights the tensors by PEFT's saved names
     * @param facts   base-model fields of adapter_config.json ({@link #baseModelFacts()}), or an empty map
     * @throws PeftException when the folder cannot be written
     */
    public static void write(Path dir, PeftConfig config, Map<String, Tensor> weights, Map<String, Object> facts) {
        Path abs = dir.toAbsolutePath();
        Path parent = abs.getParent();
        Path tmp = parent.resolve("." + abs.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(tmp);
            AdapterConfigJson.write(tmp, config, facts);
            AdapterWeights.write(tmp.resolve(AdapterState.WEIGHTS_FILE), weights);
            AtomicDirectory.replace(tmp, abs, parent.resolve("." + abs.getFileName() + ".old-" + UUID.randomUUID()));
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new PeftException("cannot save the adapter to " + abs + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            AtomicDirectory.deleteTree(dir);
        } catch (IOException ignored) {
            // best effort: the temporary folder is hidden and never mistaken for an adapter
        }
    }

    static Path configFile(Path dir) {
        return dir.resolve(AdapterConfigJson.FILE);
    }

    static Path weightsFile(Path dir) {
        return dir.resolve(AdapterState.WEIGHTS_FILE);
    }

    /** Frees the weights' host memory. */
    @Override
    public void close() {
        scope.close();
    }
}
