package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.peft.adapter.BottleneckConfig;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraBias;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
    private static final String SUPPORTED = "LORA, IA3, PREFIX_TUNING, PROMPT_TUNING, and finetune4j's BOTTLENECK_ADAPTER and FREEZE";
    /** LoRA options PEFT has and this library does not implement: refusing beats silently different outputs. */
    private static final List<String> UNSUPPORTED_LORA = List.of("use_qalora", "lora_bias", "layer_replication",
            "target_parameters", "trainable_token_indices", "alora_invocation_tokens", "use_bdlora");

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

    /** The config record of an adapter_config.json object read from {@code file}. */
    static PeftConfig parse(JsonNode c, Path file) {
        String at = file.toString();
        String type = c.path("peft_type").asText("");
        try {
            return switch (type) {
                case "LORA" -> lora(c, at);
                case "IA3" -> new Ia3Config(targets(c.get("target_modules")), targets(c.get("feedforward_modules")),
                        c.path("fan_in_fan_out").asBoolean(false), c.path("init_ia3_weights").asBoolean(true),
                        strings(c.get("modules_to_save")), text(c, "task_type"));
                case "PREFIX_TUNING" -> new PrefixTuningConfig(virtualTokens(c, at),
                        c.path("prefix_projection").asBoolean(false),
                        JsonFields.integer(c, "encoder_hidden_size", 0, 0, ConfigLimits.HIDDEN, at), text(c, "task_type"));
                case "PROMPT_TUNING" -> new PromptTuningConfig(virtualTokens(c, at), null, text(c, "task_type"));
                case "BOTTLENECK_ADAPTER" -> new BottleneckConfig(
                        BottleneckConfig.Placement.valueOf(c.path("placement").asText("houlsby").toUpperCase(Locale.ROOT)),
                        JsonFields.integer(c, "reduction_factor", 16, 1, ConfigLimits.HIDDEN, at), Activations.Kind.fromConfig(c.path("non_linearity").asText("relu")),
                        text(c, "task_type"));
                case "FREEZE" -> new FreezeConfig(JsonFields.integer(c, "top_layers", 0, 0, ConfigLimits.LAYERS, at), strings(c.get("trainable_names")), text(c, "task_type"));
                case "" -> throw new PeftException(file + " has no peft_type; expected one of " + SUPPORTED);
                default -> throw new PeftException(file + ": unknown peft_type '" + type + "'; supported: " + SUPPORTED);
            };
        } catch (IllegalArgumentException e) {
            throw new PeftException(file + ": " + e.getMessage(), e);
        }
    }

    /** num_virtual_tokens: required, an integer; whether it fits the model is checked when injecting. */
    private static int virtualTokens(JsonNode c, String at) {
        return JsonFields.requiredInteger(c, "num_virtual_tokens", 1, ConfigLimits.POSITIONS, at);
    }

    private static LoraConfig lora(JsonNode c, String at) {
        for (String key : UNSUPPORTED_LORA) {
            JsonNode v = c.get(key);
            if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean())) {
                throw new PeftException("adapter_config.json sets " + key + " = " + v + ", which finetune4j does not implement; "
                        + "supported LoRA options: r, lora_alpha, lora_dropout, target_modules, exclude_modules, "
                        + "layers_to_transform, layers_pattern, rank_pattern, alpha_pattern, use_rslora, use_dora, "
                        + "init_lora_weights, fan_in_fan_out, bias, modules_to_save");
            }
        }
        JsonNode layers = c.get("layers_to_transform");
        List<Integer> layerList = null;
        if (layers != null && layers.isInt()) {
            layerList = List.of(JsonFields.exactInteger(layers, "layers_to_transform", 0, ConfigLimits.LAYERS, at));
        } else if (layers != null && layers.isArray()) {
            layerList = new ArrayList<>();
            for (JsonNode n : layers) {
                layerList.add(JsonFields.exactInteger(n, "layers_to_transform", 0, ConfigLimits.LAYERS, at));
            }
        }
        JsonNode pattern = c.get("layers_pattern");
        String layersPattern = pattern == null || pattern.isNull() ? null
                : pattern.isArray() ? "(?:" + String.join("|", strings(pattern)) + ")" : pattern.asText();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        c.path("rank_pattern").properties().forEach(e -> ranks.put(e.getKey(),
                JsonFields.exactInteger(e.getValue(), "rank_pattern['" + e.getKey() + "']", 1, ConfigLimits.HIDDEN, at)));
        Map<String, Double> alphas = new LinkedHashMap<>();
        c.path("alpha_pattern").properties().forEach(e -> alphas.put(e.getKey(),
                JsonFields.number(c.path("alpha_pattern"), e.getKey(), 8, at)));
        return new LoraConfig(JsonFields.integer(c, "r", 8, 1, ConfigLimits.HIDDEN, at),
                JsonFields.number(c, "lora_alpha", 8, at), JsonFields.number(c, "lora_dropout", 0, at),
                targets(c.get("target_modules")), targets(c.get("exclude_modules")), layerList, layersPattern, ranks, alphas,
                c.path("use_rslora").asBoolean(false), init(c.get("init_lora_weights")), c.path("fan_in_fan_out").asBoolean(false),
                LoraBias.fromJson(c.path("bias").asText("none")), strings(c.get("modules_to_save")),
                c.path("use_dora").asBoolean(false), text(c, "task_type"));
    }

    private static LoraInit init(JsonNode n) {
        if (n == null || n.isNull() || (n.isBoolean() && n.asBoolean())) {
            return LoraInit.DEFAULT;
        }
        if (n.isBoolean()) {
            return LoraInit.RANDOM;
        }
        if (n.asText().equals("gaussian")) {
            return LoraInit.GAUSSIAN;
        }
        throw new IllegalArgumentException("init_lora_weights = '" + n.asText() + "' is not supported; use true, false or \"gaussian\"");
    }

    private static TargetModules targets(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return TargetModules.regex(n.asText());
        }
        return new TargetModules.Names(strings(n));
    }

    private static List<String> strings(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return out;
    }

    private static String text(JsonNode c, String field) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? null : n.asText();
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
        switch (cfg) {
            case LoraConfig c -> {
                o.put("r", c.r());
                putNumber(o, "lora_alpha", c.loraAlpha());
                o.put("lora_dropout", c.loraDropout());
                putTargets(o, "target_modules", c.targetModules());
                putTargets(o, "exclude_modules", c.excludeModules());
                if (c.layersToTransform() == null) {
                    o.putNull("layers_to_transform");
                } else {
                    ArrayNode a = o.putArray("layers_to_transform");
                    c.layersToTransform().forEach(a::add);
                }
                if (c.layersPattern() == null) {
                    o.putNull("layers_pattern");
                } else {
                    o.put("layers_pattern", c.layersPattern());
                }
                ObjectNode rp = o.putObject("rank_pattern");
                c.rankPattern().forEach(rp::put);
                ObjectNode ap = o.putObject("alpha_pattern");
                c.alphaPattern().forEach((k, v) -> putNumber(ap, k, v));
                o.put("use_rslora", c.useRslora());
                o.put("use_dora", c.useDora());
                switch (c.initLoraWeights()) {
                    case DEFAULT -> o.put("init_lora_weights", true);
                    case RANDOM -> o.put("init_lora_weights", false);
                    case GAUSSIAN -> o.put("init_lora_weights", "gaussian");
                }
                o.put("fan_in_fan_out", c.fanInFanOut());
                o.put("bias", c.bias().json());
                o.put("lora_bias", false);
                putStrings(o, "modules_to_save", c.modulesToSave());
            }
            case Ia3Config c -> {
                putTargets(o, "target_modules", c.targetModules());
                putTargets(o, "feedforward_modules", c.feedforwardModules());
                o.put("fan_in_fan_out", c.fanInFanOut());
                o.put("init_ia3_weights", c.initIa3Weights());
                putStrings(o, "modules_to_save", c.modulesToSave());
            }
            case PrefixTuningConfig c -> {
                o.put("num_virtual_tokens", c.numVirtualTokens());
                o.put("prefix_projection", c.prefixProjection());
                o.put("encoder_hidden_size", c.encoderHiddenSize());
            }
            case PromptTuningConfig c -> {
                o.put("num_virtual_tokens", c.numVirtualTokens());
                o.put("prompt_tuning_init", "RANDOM");
            }
            case BottleneckConfig c -> {
                o.put("placement", c.placement().name().toLowerCase(Locale.ROOT));
                o.put("reduction_factor", c.reductionFactor());
                o.put("non_linearity", c.nonLinearity().name().toLowerCase(Locale.ROOT));
            }
            case FreezeConfig c -> {
                o.put("top_layers", c.topLayers());
                putStrings(o, "trainable_names", c.trainableNames());
            }
            default -> throw new PeftException("no adapter_config.json mapping for " + cfg.getClass().getName());
        }
        facts.forEach((k, v) -> o.set(k, JSON.valueToTree(v)));
        try {
            JSON.writeValue(dir.resolve(FILE).toFile(), o);
        } catch (IOException e) {
            throw new PeftException("cannot write " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }

    private static void putNumber(ObjectNode o, String key, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            o.put(key, (long) v);
        } else {
            o.put(key, v);
        }
    }

    private static void putTargets(ObjectNode o, String key, TargetModules t) {
        switch (t) {
            case null -> o.putNull(key);
            case TargetModules.Regex r -> o.put(key, r.regex());
            case TargetModules.Names n -> putStrings(o, key, n.names());
        }
    }

    private static void putStrings(ObjectNode o, String key, List<String> values) {
        if (values == null) {
            o.putNull(key);
        } else {
            ArrayNode a = o.putArray(key);
            values.forEach(a::add);
        }
    }
}
