package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.serve.EngineMetrics;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code GET /v1/models} (the base model and every adapter in OpenAI's list format), {@code GET /health}, and the
 * admin routes that load, replace ({@code POST /admin/adapters}) and unload ({@code DELETE /admin/adapters/{name}})
 * adapters while the server runs; requests in flight keep the adapter version they started with.
 */
final class ModelEndpoints {
    /**
     * Adapter names: one path segment that needs no escaping (so {@code DELETE /admin/adapters/{name}} reaches it),
     * not a dot segment, and nothing that could break a log line. Colons allow OpenAI's {@code ft:base:org:id} form.
     */
    private static final String NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9._:-]{0,127}";
    private static final Pattern NAME = Pattern.compile(NAME_PATTERN);

    private final ServedModels models;
    private final long created = Instant.now().getEpochSecond();

    ModelEndpoints(ServedModels models) {
        this.models = models;
    }

    /** {@code {"object": "list", "data": [model, ...]}}. */
    ObjectNode list() {
        ObjectNode body = OpenAiJson.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = body.putArray("data");
        data.add(model(models.baseName()));
        for (String adapter : models.engine().adapterNames()) {
            data.add(model(adapter));
        }
        return body;
    }

    /**
     * {@code {"status": "ok", ...}} with the engine's queue and adapter counts; {@code "draining"} once the engine
     * drains before a shutdown ({@link dev.finetune4j.peft.serve.InferenceEngine#drain}), answered with 503 so that a
     * load balancer's health check sends new requests elsewhere.
     */
    ObjectNode health() {
        EngineMetrics m = models.engine().metrics();
        String status = models.engine().draining() ? "draining" : "ok";
        return OpenAiJson.MAPPER.createObjectNode().put("status", status).put("model", models.baseName())
                .put("adapters", models.engine().adapterNames().size()).put("queue_depth", m.queueDepth())
                .put("running_requests", m.runningRequests()).put("completed_requests", m.completedRequests());
    }

    /**
     * Loads or replaces the adapter {@code {"name", "path"}}. The answer is the adapter's model object with
     * {@code "replaced"}, and {@code "warnings"} (a list of sentences) when the base differs from the one the adapter
     * was trained on ({@link dev.finetune4j.peft.serve.InferenceEngine#loadAdapter}).
     *
     * @throws ApiException 400 for a missing name or path, a name outside {@link #NAME_PATTERN} or the base model's,
     *                      or a folder the engine cannot serve; 503 when the engine is closed
     */
    ObjectNode load(JsonNode body) {
        String name = JsonFields.requiredString(body, "name");
        if (!NAME.matcher(name).matches()) {
            throw ApiException.invalid("name", "'name' must match " + NAME_PATTERN + " (a letter or digit, then up to 127 "
                    + "letters, digits, '.', '_', ':' or '-'), got " + JsonFields.describe(body.get("name")));
        }
        if (name.equals(models.baseName())) {
            throw ApiException.invalid("name", "'name' must differ from the base model's name '" + models.baseName()
                    + "'; choose another name for the adapter");
        }
        String pathText = JsonFields.requiredString(body, "path");
        Path path;
        try {
            path = Path.of(pathText);
        } catch (InvalidPathException e) {
            throw ApiException.invalid("path", "'path' is not a valid path: " + e.getMessage());
        }
        if (!Files.isDirectory(path)) {
            throw ApiException.invalid("path", "no folder at '" + path.toAbsolutePath() + "' on the server; 'path' must name a "
                    + "PEFT adapter folder (adapter_config.json + adapter_model.safetensors) on the server's disk");
        }
        boolean replaced = models.engine().adapterNames().contains(name);
        List<String> warnings;
        try {
            warnings = models.engine().loadAdapter(name, path);
        } catch (PeftException | IllegalArgumentException | UncheckedIOException e) {
            throw ApiException.invalid("path", "cannot load the adapter in " + path.toAbsolutePath() + ": " + e.getMessage());
        } catch (IllegalStateException e) {
            throw ApiException.unavailable("the server is shutting down (" + e.getMessage() + "); no adapter was loaded");
        }
        ObjectNode loaded = model(name).put("replaced", replaced);
        if (!warnings.isEmpty()) {
            // loaded all the same: e.g. a QLoRA adapter on a full-precision base computes slightly other logits
            ArrayNode list = loaded.putArray("warnings");
            warnings.forEach(list::add);
        }
        return loaded;
    }

    /**
     * Unloads an adapter.
     *
     * @throws ApiException 400 for the base model, 404 for a name that is not loaded
     */
    ObjectNode unload(String name) {
        if (name.equals(models.baseName())) {
            throw ApiException.invalid("name", "the base model '" + name + "' cannot be unloaded; stop the server instead");
        }
        if (!models.engine().unloadAdapter(name)) {
            throw ApiException.unknownModel("no adapter named '" + name + "' is loaded; loaded: " + models.engine().adapterNames());
        }
        return OpenAiJson.MAPPER.createObjectNode().put("id", name).put("object", "model").put("deleted", true);
    }

    private ObjectNode model(String id) {
        ObjectNode m = OpenAiJson.MAPPER.createObjectNode().put("id", id).put("object", "model").put("created", created)
                .put("owned_by", "finetune4j");
        if (!id.equals(models.baseName())) {
            m.put("parent", models.baseName());
        }
        return m;
    }
}
