package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.text.BudgetedText;
import dev.finetune4j.peft.train.RewardFunction;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The built-in reward functions of {@code objective: grpo}, from the config's {@code grpo.rewards} list: checks that
 * need no code. A user's regular expression runs under a budget of character reads per completion, so a pattern that
 * backtracks exponentially fails with its name instead of hanging the run.
 */
final class GrpoRewards {
    /** Character reads one regex search may make: far above a linear scan of any completion a GRPO run samples. */
    static final long REGEX_BUDGET = 10_000_000;
    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private GrpoRewards() {
    }

    /**
     * The functions of {@code specs}, in order, each named by its {@code name} or its type (a second one of a type
     * is named type_2, ...).
     *
     * @param answers each prompt's answer by prompt text, for exact_match; empty when the rows have none; null to check
     *                the entries before the rows are read
     * @throws BadInputException naming the entry ({@code grpo.rewards[i]}) that is unknown or incomplete
     */
    static List<RewardFunction> of(List<TrainConfig.GrpoReward> specs, Map<String, String> answers) {
        if (specs == null || specs.isEmpty()) {
            throw new BadInputException("'grpo.rewards' is missing: list at least one reward, e.g. [{type: json_valid}] "
                    + "(types: regex, json_valid, length, exact_match)");
        }
        List<RewardFunction> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            TrainConfig.GrpoReward spec = specs.get(i);
            String where = "grpo.rewards[" + i + "]";
            if (spec == null || spec.type() == null) {
                throw new BadInputException("'" + where + ".type' is missing; use regex, json_valid, length or exact_match");
            }
            RewardFunction score = switch (spec.type()) {
                case "regex" -> regex(spec.pattern(), where);
                case "json_valid" -> (prompt, completion) -> isOneJsonValue(completion) ? 1 : 0;
                case "length" -> length(spec.target(), where);
                case "exact_match" -> exactMatch(answers, where);
                default -> throw new BadInputException("'" + where + ".type' is '" + spec.type()
                        + "'; use regex, json_valid, length or exact_match");
            };
            String name = spec.name() != null ? spec.name() : spec.type();
            for (int k = 2; spec.name() == null && names.contains(name); k++) {
                name = spec.type() + "_" + k;
            }
            if (!names.add(name)) {
                throw new BadInputException("'" + where + ".name' is '" + name + "', the name of an earlier reward: "
                        + "give each its own name");
            }
            out.add(RewardFunction.named(name, score));
        }
        return out;
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
