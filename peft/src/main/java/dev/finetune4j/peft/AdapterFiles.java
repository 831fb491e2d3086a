package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Path;
import java.util.Map;

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

    /** The weights file's tensors by name, float32 on the host. */
    Map<String, Tensor> weights() {
        return weights;
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
