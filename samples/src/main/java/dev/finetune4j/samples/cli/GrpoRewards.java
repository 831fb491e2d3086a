package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.text.BudgetedText;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.train.RewardFunction;
import dev.finetune4j.peft.train.RewardModel;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The reward functions of {@code objective: grpo}, from the config's {@code grpo.rewards} list: checks that need no
 * code, and trained reward models ({@code type: reward_model}). A user's regular expression runs under a budget of
 * character reads per completion, so a pattern that backtracks exponentially fails with its name instead of hanging
 * the run.
 */
final class GrpoRewards {
    /** The types an entry may have. */
    static final String TYPES = "regex, json_valid, length, exact_match or reward_model";
    /** Character reads one regex search may make: far above a linear scan of any completion a GRPO run samples. */
    static final long REGEX_BUDGET = 10_000_000;
    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private GrpoRewards() {
    }

    /**
     * The functions of {@code specs}, in order, each named by its {@code name} or its type (a second one of a type
     * is named type_2, ...); reward models are loaded onto {@code device} and closed with the result.
     *
     * @param answers each prompt's answer by prompt text, for exact_match; empty when the rows have none; null to check
     *                the entries before the rows are read
     * @param base    the config file's folder, against which reward model paths resolve
     * @param device  where reward models load; null to check the entries (and the reward models' folders) only
     * @throws BadInputException naming the entry ({@code grpo.rewards[i]}) that is unknown, incomplete or whose reward
     *                           model cannot be loaded
     */
    static Loaded load(List<TrainConfig.GrpoReward> specs, Map<String, String> answers, Path base, Device device) {
        if (specs == null || specs.isEmpty()) {
            throw new BadInputException("'grpo.rewards' is missing: list at least one reward, e.g. [{type: json_valid}] "
                    + "(types: " + TYPES + ")");
        }
        Loaded out = new Loaded(new ArrayList<>());
        try {
            Set<String> names = new HashSet<>();
            for (int i = 0; i < specs.size(); i++) {
                TrainConfig.GrpoReward spec = specs.get(i);
                String where = "grpo.rewards[" + i + "]";
                if (spec == null || spec.type() == null) {
                    throw new BadInputException("'" + where + ".type' is missing; use " + TYPES);
                }
                RewardFunction score = switch (spec.type()) {
                    case "regex" -> regex(spec.pattern(), where);
                    case "json_valid" -> (prompt, completion) -> isOneJsonValue(completion) ? 1 : 0;
                    case "length" -> length(spec.target(), where);
                    case "exact_match" -> exactMatch(answers, where);
                    case "reward_model" -> rewardModel(spec, where, base, device);
                    default -> throw new BadInputException("'" + where + ".type' is '" + spec.type() + "'; use " + TYPES);
                };
                if (score instanceof RewardModel model) {
                    out.models().add(model);
                }
                String name = spec.name() != null ? spec.name() : spec.type();
                for (int k = 2; spec.name() == null && names.contains(name); k++) {
                    name = spec.type() + "_" + k;
                }
                if (!names.add(name)) {
                    throw new BadInputException("'" + where + ".name' is '" + name + "', the name of an earlier reward: "
                            + "give each its own name");
                }
                out.functions().add(RewardFunction.named(name, score));
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /**
     * The reward functions of a {@code grpo.rewards} list, and the reward models among them, which it owns.
     *
     * @param functions the functions, in the list's order
     * @param models    the reward models loaded for them, closed with this
     */
    record Loaded(List<RewardFunction> functions, List<RewardModel> models) implements AutoCloseable {
        Loaded(List<RewardFunction> functions) {
            this(functions, new ArrayList<>());
        }

        @Override
        public void close() {
            models.forEach(RewardModel::close);
        }
    }

    /**
     * A {@code reward_model} entry: its folders checked, then (with a device) the model loaded with its tokenizer; a
     * placeholder that never scores when only checking.
     */
    private static RewardFunction rewardModel(TrainConfig.GrpoReward spec, String where, Path base, Device device) {
        if (spec.model() == null) {
            throw new BadInputException("'" + where + ".model' is missing: a reward_model reward needs the folder of its "
                    + "classifier (config.json + model.safetensors), and 'adapter' for a reward adapter trained with "
                    + "task: reward");
        }
        Path modelDir = base.resolve(spec.model());
        Path adapterDir = spec.adapter() == null ? null : base.resolve(spec.adapter());
        try {
            ModelInputs.requireModelFolder(modelDir);
            if (adapterDir != null) {
                ModelInputs.readAdapter(adapterDir, where + ".adapter");
            }
            Tokenizer tok = ModelInputs.loadTokenizer(spec.tokenizer() == null || ModelInputs.BYTE_LEVEL.equals(spec.tokenizer())
                    ? spec.tokenizer() : base.resolve(spec.tokenizer()).toString(), modelDir);
            if (device == null) {
                return (prompt, completion) -> {
                    throw new IllegalStateException(where + " was only checked, not loaded");
                };
            }
            return RewardModel.load(modelDir, adapterDir, tok, device);
        } catch (BadInputException | IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("'" + where + "' (reward_model): " + e.getMessage(), e);
        }
    }

    /** Each entry's weight (default 1), in order. */
    static List<Double> weights(List<TrainConfig.GrpoReward> specs) {
        return specs.stream().map(s -> s.weight() == null ? 1.0 : s.weight()).toList();
    }

    private static RewardFunction regex(String pattern, String where) {
        if (pattern == null) {
            throw new BadInputException("'" + where + ".pattern' is missing: a regex reward scores 1 when the pattern "
                    + "is found in the completion");
        }
        Pattern compiled;
        try {
            compiled = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw new BadInputException("'" + where + ".pattern' is not a regular expression: " + e.getDescription(), e);
        }
        // the completion's characters a regex may read at most REGEX_BUDGET times
        return (prompt, completion) -> compiled.matcher(new BudgetedText(completion, REGEX_BUDGET,
                () -> new IllegalStateException("the regex " + pattern + " read the completion's characters more than "
                        + REGEX_BUDGET + " times (exponential backtracking): make its repetitions possessive (a*+) or "
                        + "anchor its alternatives"))).find() ? 1 : 0;
    }

    private static RewardFunction length(Integer target, String where) {
        if (target == null || target < 1) {
            throw new BadInputException("'" + where + ".target' must be a number of characters >= 1, got " + target);
        }
        return (prompt, completion) -> -Math.abs(completion.length() - target) / (double) target;
    }

    private static RewardFunction exactMatch(Map<String, String> answers, String where) {
        if (answers != null && answers.isEmpty()) {
            throw new BadInputException("'" + where + "' is exact_match, but the training rows have no 'answer' field: "
                    + "give rows {\"prompt\": ..., \"answer\": ...}");
        }
        return (prompt, completion) -> completion.strip().equals(answers.get(prompt).strip()) ? 1 : 0;
    }

    /** Whether {@code text} is exactly one JSON value, surrounding whitespace allowed. */
    static boolean isOneJsonValue(String text) {
        if (text.isBlank()) {
            return false;
        }
        try {
            STRICT_JSON.readTree(text);
            return true;
        } catch (JsonProcessingException e) {
            return false;
        }
    }
}
