package dev.finetune4j.peft.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.peft.ConfigRegex;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftJson;
import dev.finetune4j.peft.TargetModules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA (Hu et al. 2021) and its variants rsLoRA and DoRA, as PEFT's {@code LoraConfig}.
 *
 * <pre>{@code
 * LoraConfig cfg = LoraConfig.builder().r(16).loraAlpha(32).targetModules("q_proj", "v_proj").loraDropout(0.05).build();
 * }</pre>
 *
 * @param r                 rank of every adapter (overridden per module by {@code rankPattern})
 * @param loraAlpha         scaling numerator: scale = alpha / r, or alpha / sqrt(r) with {@code useRslora}
 * @param loraDropout       dropout on the adapter's input in training mode, in [0, 1)
 * @param targetModules     modules to adapt; null means the model family's default (q/v projections), unless
 *                          {@code targetParameters} are given
 * @param excludeModules    modules never to adapt, or null
 * @param layersToTransform layer indices to adapt (with a list {@code targetModules}), or null for all
 * @param layersPattern     name of the layer list ({@code "layers"}, {@code "h"}) locating the index, or null
 * @param rankPattern       module-name pattern to rank, matched as {@code (.*\.)?(pattern)$} in the map's order (the
 *                          first match wins, as PEFT iterates its dict)
 * @param alphaPattern      module-name pattern to alpha, matched in the same way
 * @param useRslora         rank-stabilised scaling alpha / sqrt(r) (Kalajdzievski 2023)
 * @param initLoraWeights   initialisation of A and B
 * @param fanInFanOut       the base weights are stored (in, out), as GPT-2's Conv1D
 * @param bias              which biases of the base model train and save with the adapter
 * @param modulesToSave     modules trained fully and saved with the adapter (classifier heads), or null
 * @param useDora           DoRA (Liu et al. 2024): learn a magnitude per output and a LoRA-updated direction
 * @param taskType          PEFT's {@code task_type}, or null
 * @param targetParameters  stacked expert parameters to adapt (PEFT's {@code target_parameters}: gpt-oss's
 *                          {@code mlp.experts.gate_up_proj}, {@code mlp.experts.down_proj}), matched as a parameter's
 *                          full name or its ending after a dot; null for none. Each expert gets its own rank-r
 *                          update; no dropout, DoRA or fan_in_fan_out with them (as PEFT)
 */
public record LoraConfig(int r, double loraAlpha, double loraDropout, TargetModules targetModules,
                         TargetModules excludeModules, List<Integer> layersToTransform, String layersPattern,
                         Map<String, Integer> rankPattern, Map<String, Double> alphaPattern, boolean useRslora,
                         LoraInit initLoraWeights, boolean fanInFanOut, LoraBias bias, List<String> modulesToSave,
                         boolean useDora, String taskType, List<String> targetParameters) implements PeftConfig {
    /** PEFT's {@code peft_type} of LoRA (DoRA and rsLoRA are options of it). */
    public static final String PEFT_TYPE = "LORA";
    /** LoRA options PEFT has and this library does not implement: refusing beats silently different outputs. */
    private static final List<String> UNSUPPORTED = List.of("use_qalora", "lora_bias", "layer_replication",
            "trainable_token_indices", "alora_invocation_tokens", "use_bdlora");

    /**
     * Checks the rank, dropout and alpha, copies the lists and maps, and fills in the default initialisation and bias.
     */
    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("r = " + r + ": the LoRA rank must be positive (typical: 8 or 16)");
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("lora_dropout = " + loraDropout + ": must be in [0, 1) (typical: 0.05)");
        }
        if (!Double.isFinite(loraAlpha)) {
            throw new IllegalArgumentException("lora_alpha = " + loraAlpha + ": must be a finite number (typical: 2 * r)");
        }
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        rankPattern = patterns("rank_pattern", rankPattern);
        alphaPattern = patterns("alpha_pattern", alphaPattern);
        rankPattern.forEach((k, v) -> {
            if (v <= 0) {
                throw new IllegalArgumentException("rank_pattern['" + k + "'] = " + v + ": ranks must be positive");
            }
        });
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        targetParameters = targetParameters == null || targetParameters.isEmpty() ? null : List.copyOf(targetParameters);
        if (targetParameters != null && (loraDropout > 0 || useDora || fanInFanOut)) {
            throw new IllegalArgumentException("target_parameters cannot be combined with "
                    + (loraDropout > 0 ? "lora_dropout = " + loraDropout : useDora ? "use_dora" : "fan_in_fan_out")
                    + ": an adapter on a stacked parameter updates the weight itself (as PEFT's, which refuses the same)");
        }
        initLoraWeights = initLoraWeights == null ? LoraInit.DEFAULT : initLoraWeights;
        bias = bias == null ? LoraBias.NONE : bias;
        if (layersToTransform != null && targetModules instanceof TargetModules.Regex) {
            throw new IllegalArgumentException("layers_to_transform cannot be combined with a regex target_modules: "
                    + "give target_modules as a list of names, or put the layer indices into the regex");
        }
        layerIndexRegex(layersPattern); // refuses one that does not compile now rather than at injection
    }

    /** The patterns in their given order, compiled once (kept when they already are, as from toBuilder()). */
    private static <V> ModulePatterns<V> patterns(String field, Map<String, V> given) {
        return given instanceof ModulePatterns<V> compiled ? compiled : new ModulePatterns<>(field, given == null ? Map.of() : given);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * The rank for the module at {@code path}: the first {@code rankPattern} entry matching it, else {@code r}.
     *
     * @param path a module's dotted path
     * @return the rank
     */
    public int rankFor(String path) {
        Integer rank = ((ModulePatterns<Integer>) rankPattern).firstMatch(path);
        return rank == null ? r : rank;
    }

    /**
     * The alpha for the module at {@code path}: the first {@code alphaPattern} entry matching it, else {@code
     * loraAlpha}.
     *
     * @param path a module's dotted path
     * @return the alpha
     */
    public double alphaFor(String path) {
        Double alpha = ((ModulePatterns<Double>) alphaPattern).firstMatch(path);
        return alpha == null ? loraAlpha : alpha;
    }

    /**
     * The output scale of the module at {@code path}: alpha / r, or alpha / sqrt(r) with rsLoRA.
     *
     * @param path a module's dotted path
     * @return the scaling of the module's update
     */
    public double scalingFor(String path) {
        int rank = rankFor(path);
        return alphaFor(path) / (useRslora ? Math.sqrt(rank) : rank);
    }

    /**
     * True when the module at {@code path} gets an adapter (targets, exclusions, layers to transform).
     *
     * @param path a module's dotted path
     * @param defaults the family's default targets, used when {@code targetModules} is null
     * @return whether the module gets an adapter
     */
    public boolean targets(String path, TargetModules defaults) {
        if (excludeModules != null && excludeModules.matches(path)) {
            return false;
        }
        if (insideModuleToSave(path)) {
            return false;
        }
        TargetModules targets = targetModules == null ? defaults : targetModules;
        if (!targets.matches(path)) {
            return false;
        }
        if (layersToTransform == null || layersToTransform.isEmpty() || targets instanceof TargetModules.Regex) {
            return true;
        }
        Integer index = layerIndex(path, layersPattern);
        return index != null && layersToTransform.contains(index);
    }

    /**
     * Whether {@code path} is a module to save or inside one. The names are literal and match whole path segments, as
     * PEFT's check of the targets against the modules to save (its wrapping of those modules, as
     * {@link dev.finetune4j.peft.ModulesToSave}'s, takes any suffix).
     */
    private boolean insideModuleToSave(String path) {
        if (modulesToSave == null || modulesToSave.isEmpty()) {
            return false;
        }
        TargetModules save = TargetModules.names(modulesToSave.toArray(String[]::new));
        for (String p = path; ; p = p.substring(0, p.lastIndexOf('.'))) {
            if (save.matches(p)) {
                return true;
            }
            if (p.indexOf('.') < 0) {
                return false;
            }
        }
    }

    /** The first numbered path segment after {@code layersPattern} (or after any segment), as PEFT finds it. */
    static Integer layerIndex(String path, String layersPattern) {
        return layerIndexRegex(layersPattern).match("." + path).map(m -> Integer.valueOf(m.group(1))).orElse(null);
    }

    private static ConfigRegex layerIndexRegex(String layersPattern) {
        String layerList = layersPattern == null || layersPattern.isEmpty() ? "[^.]*" : layersPattern;
        return ConfigRegex.compile("layers_pattern", layerList, ".*?\\.", "\\.(\\d+)\\..*");
    }

    /**
     * The LoRA config of an {@code adapter_config.json} object, with PEFT's defaults for absent fields.
     *
     * @param c  the JSON object
     * @param at the file or section it came from, for messages
     * @return the config
     * @throws PeftException when it sets a LoRA option this library does not implement
     * @throws IllegalArgumentException when a field is invalid
     */
    public static LoraConfig fromJson(JsonNode c, String at) {
        for (String key : UNSUPPORTED) {
            JsonNode v = c.get(key);
            if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean())) {
                throw new PeftException("adapter_config.json sets " + key + " = " + v + ", which finetune4j does not implement; "
                        + "supported LoRA options: r, lora_alpha, lora_dropout, target_modules, exclude_modules, "
                        + "layers_to_transform, layers_pattern, rank_pattern, alpha_pattern, use_rslora, use_dora, "
                        + "init_lora_weights, fan_in_fan_out, bias, modules_to_save, target_parameters");
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
                : pattern.isArray() ? "(?:" + String.join("|", PeftJson.strings(pattern)) + ")" : pattern.asText();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        c.path("rank_pattern").properties().forEach(e -> ranks.put(e.getKey(),
                JsonFields.exactInteger(e.getValue(), "rank_pattern['" + e.getKey() + "']", 1, ConfigLimits.HIDDEN, at)));
        Map<String, Double> alphas = new LinkedHashMap<>();
        c.path("alpha_pattern").properties().forEach(e -> alphas.put(e.getKey(),
                JsonFields.number(c.path("alpha_pattern"), e.getKey(), 8, at)));
        List<String> parameters = PeftJson.strings(c.get("target_parameters"));
        JsonNode modules = c.get("target_modules");
        // an adapter of parameters alone lists no module (written so that PEFT adds none of its defaults)
        boolean noModules = parameters != null && !parameters.isEmpty() && modules != null && modules.isArray()
                && modules.isEmpty();
        return new LoraConfig(JsonFields.integer(c, "r", 8, 1, ConfigLimits.HIDDEN, at),
                JsonFields.number(c, "lora_alpha", 8, at), JsonFields.number(c, "lora_dropout", 0, at),
                noModules ? null : PeftJson.targets(modules, "target_modules"),
                PeftJson.targets(c.get("exclude_modules"), "exclude_modules"), layerList,
                layersPattern, ranks, alphas, c.path("use_rslora").asBoolean(false), LoraInit.fromJson(c.get("init_lora_weights")),
                c.path("fan_in_fan_out").asBoolean(false), LoraBias.fromJson(c.path("bias").asText("none")),
                PeftJson.strings(c.get("modules_to_save")), c.path("use_dora").asBoolean(false), PeftJson.text(c, "task_type"),
                parameters);
    }

    /**
     * Writes this config's fields under PEFT's names (PEFT 0.21 reads every one of them).
     *
     * @param o the adapter_config.json object to fill
     */
    @Override
    public void toJson(ObjectNode o) {
        o.put("r", r);
        PeftJson.putNumber(o, "lora_alpha", loraAlpha);
        o.put("lora_dropout", loraDropout);
        if (targetModules == null && targetParameters != null) {
            o.putArray("target_modules"); // PEFT would otherwise add the family's defaults to the parameters
        } else {
            PeftJson.putTargets(o, "target_modules", targetModules);
        }
        PeftJson.putTargets(o, "exclude_modules", excludeModules);
        if (layersToTransform == null) {
            o.putNull("layers_to_transform");
        } else {
            ArrayNode a = o.putArray("layers_to_transform");
            layersToTransform.forEach(a::add);
        }
        if (layersPattern == null) {
            o.putNull("layers_pattern");
        } else {
            o.put("layers_pattern", layersPattern);
        }
        ObjectNode rp = o.putObject("rank_pattern");
        rankPattern.forEach(rp::put);
        ObjectNode ap = o.putObject("alpha_pattern");
        alphaPattern.forEach((k, v) -> PeftJson.putNumber(ap, k, v));
        o.put("use_rslora", useRslora);
        o.put("use_dora", useDora);
        initLoraWeights.toJson(o, "init_lora_weights");
        o.put("fan_in_fan_out", fanInFanOut);
        o.put("bias", bias.json());
        o.put("lora_bias", false);
        PeftJson.putStrings(o, "modules_to_save", modulesToSave);
        PeftJson.putStrings(o, "target_parameters", targetParameters);
    }

    /**
     * A builder with PEFT's defaults (r 8, alpha 8, no dropout, default init, bias none).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from this config's values.
     *
     * @return a new builder with every value of this configuration
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = r;
        b.loraAlpha = loraAlpha;
        b.loraDropout = loraDropout;
        b.targetModules = targetModules;
        b.excludeModules = excludeModules;
        b.layersToTransform = layersToTransform;
        b.layersPattern = layersPattern;
        b.rankPattern = rankPattern;
        b.alphaPattern = alphaPattern;
        b.useRslora = useRslora;
        b.initLoraWeights = initLoraWeights;
        b.fanInFanOut = fanInFanOut;
        b.bias = bias;
        b.modulesToSave = modulesToSave;
        b.useDora = useDora;
        b.taskType = taskType;
        b.targetParameters = targetParameters;
        return b;
    }

    /** Builder of {@link LoraConfig}; not thread-safe. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout;
        private TargetModules targetModules;
        private TargetModules excludeModules;
        private List<Integer> layersToTransform;
        private String layersPattern;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private boolean useRslora;
        private LoraInit initLoraWeights = LoraInit.DEFAULT;
        private boolean fanInFanOut;
        private LoraBias bias = LoraBias.NONE;
        private List<String> modulesToSave;
        private boolean useDora;
        private String taskType = "CAUSAL_LM";
        private List<String> targetParameters;

        private Builder() {
        }

        /**
         * The rank of every adapter (default 8).
         *
         * @param value r, {@code >= 1}
         * @return this builder
         */
        public Builder r(int value) { r = value; return this; }
        /**
         * The scaling numerator (default 8).
         *
         * @param value alpha, finite
         * @return this builder
         */
        public Builder loraAlpha(double value) { loraAlpha = value; return this; }
        /**
         * Dropout on the adapter's input in training mode (default 0).
         *
         * @param value the probability, in [0, 1)
         * @return this builder
         */
        public Builder loraDropout(double value) { loraDropout = value; return this; }
        /**
         * Module names matched as path suffixes (PEFT's list form).
         *
         * @param names one or more module names, e.g. {@code q_proj}
         * @return this builder
         */
        public Builder targetModules(String... names) { targetModules = TargetModules.names(names); return this; }
        /**
         * Target modules as names or a regex; null means the model family's default.
         *
         * @param value the targets, or null
         * @return this builder
         */
        public Builder targetModules(TargetModules value) { targetModules = value; return this; }
        /**
         * A full-match regular expression over module paths (PEFT's string form).
         *
         * @param regex the expression
         * @return this builder
         */
        public Builder targetModulesRegex(String regex) { targetModules = TargetModules.regex(regex); return this; }
        /**
         * Module names never to adapt (default none).
         *
         * @param names one or more module names
         * @return this builder
         */
        public Builder excludeModules(String... names) { excludeModules = TargetModules.names(names); return this; }
        /**
         * Modules never to adapt, as names or an expression (default none).
         *
         * @param value the exclusion, or null
         * @return this builder
         */
        public Builder excludeModules(TargetModules value) { excludeModules = value; return this; }
        /**
         * A full-match regular expression over the paths of modules never to adapt (default none).
         *
         * @param regex the expression
         * @return this builder
         */
        public Builder excludeModulesRegex(String regex) { excludeModules = TargetModules.regex("exclude_modules", regex); return this; }
        /**
         * The layer indices to adapt, with a list of target names (default all).
         *
         * @param layers the indices
         * @return this builder
         */
        public Builder layersToTransform(Integer... layers) { layersToTransform = List.of(layers); return this; }
        /**
         * The name of the layer list that holds the index, e.g. {@code layers} or {@code h} (default: the first
         * numbered path segment).
         *
         * @param value the name
         * @return this builder
         */
        public Builder layersPattern(String value) { layersPattern = value; return this; }
        /**
         * Ranks per module-name pattern (default none), tried in the map's iteration order: give a
         * {@link java.util.LinkedHashMap} when several patterns can match one module.
         *
         * @param value pattern to rank
         * @return this builder
         */
        public Builder rankPattern(Map<String, Integer> value) { rankPattern = value; return this; }
        /**
         * Alphas per module-name pattern (default none), tried in the map's iteration order as {@link #rankPattern}.
         *
         * @param value pattern to alpha
         * @return this builder
         */
        public Builder alphaPattern(Map<String, Double> value) { alphaPattern = value; return this; }
        /**
         * Rank-stabilised scaling alpha / sqrt(r) (default false).
         *
         * @param value whether to use rsLoRA
         * @return this builder
         */
        public Builder useRslora(boolean value) { useRslora = value; return this; }
        /**
         * The initialisation of A and B (default {@link LoraInit#DEFAULT}).
         *
         * @param value the initialisation
         * @return this builder
         */
        public Builder initLoraWeights(LoraInit value) { initLoraWeights = value; return this; }
        /**
         * Whether the base weights are stored (in, out), as GPT-2's Conv1D (default false).
         *
         * @param value the layout flag
         * @return this builder
         */
        public Builder fanInFanOut(boolean value) { fanInFanOut = value; return this; }
        /**
         * Which biases train and save with the adapter (default {@link LoraBias#NONE}).
         *
         * @param value the bias mode
         * @return this builder
         */
        public Builder bias(LoraBias value) { bias = value; return this; }
        /**
         * Modules trained fully and saved with the adapter, e.g. a classifier head (default none).
         *
         * @param names the module names
         * @return this builder
         */
        public Builder modulesToSave(String... names) { modulesToSave = List.of(names); return this; }
        /**
         * DoRA: a learned magnitude per output on top of the LoRA direction (default false).
         *
         * @param value whether to use DoRA
         * @return this builder
         */
        public Builder useDora(boolean value) { useDora = value; return this; }
        /**
         * PEFT's {@code task_type} (default {@code CAUSAL_LM}).
         *
         * @param value the task type, or null
         * @return this builder
         */
        public Builder taskType(String value) { taskType = value; return this; }
        /**
         * Stacked expert parameters to adapt, PEFT's {@code target_parameters} (default none): e.g.
         * {@code "mlp.experts.gate_up_proj", "mlp.experts.down_proj"} for every gpt-oss layer, or
         * {@code "7.mlp.experts.gate_up_proj"} for layer 7's. Listed in PEFT's order: the first is wrapped first.
         *
         * @param names parameter names or their endings
         * @return this builder
         */
        public Builder targetParameters(String... names) { targetParameters = List.of(names); return this; }

        /**
         * Builds the configuration; the values are checked here.
         *
         * @return the configuration
         */
        public LoraConfig build() {
            return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, layersToTransform, layersPattern,
                    rankPattern, alphaPattern, useRslora, initLoraWeights, fanInFanOut, bias, modulesToSave, useDora, taskType,
                    targetParameters);
        }
    }
}
