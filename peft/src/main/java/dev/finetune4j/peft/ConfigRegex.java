package dev.finetune4j.peft;

import dev.finetune4j.core.text.BudgetedText;

import java.util.Optional;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A regular expression from an adapter config ({@code target_modules} as a string, {@code rank_pattern} keys, ...),
 * compiled once and matched against module paths within a step budget. java.util.regex backtracks, so a pattern such
 * as {@code (.*){12}!} would take years on a 30-character path, while the inference engine holds its model tree
 * for the load; past the budget the match fails with a {@link PeftException} naming the field and the pattern.
 *
 * <p>Thread safety: immutable; each match counts its own steps.
 */
public final class ConfigRegex {
    /**
     * Characters one match may read. Patterns PEFT's docs show need a few hundred on a module path; the budget is
     * thousands of times that and costs a few milliseconds.
     */
    static final long STEP_BUDGET = 1_000_000;

    private final String field;
    private final String regex;
    private final Pattern pattern;

    private ConfigRegex(String field, String regex, Pattern pattern) {
        this.field = field;
        this.regex = regex;
        this.pattern = pattern;
    }

    /**
     * Compiles {@code regex} as it stands.
     *
     * @param field the config field it comes from, for messages ({@code "target_modules"})
     * @param regex the expression as the config writes it
     * @return the compiled expression
     * @throws IllegalArgumentException naming the field and the expression when it does not compile
     */
    public static ConfigRegex compile(String field, String regex) {
        return compile(field, regex, "", "");
    }

    /**
     * Compiles {@code before + regex + after}: the frame PEFT puts around some fields ({@code (.*\.)?(key)$} for
     * {@code rank_pattern}); messages show {@code regex} alone, as the config writes it.
     *
     * @param field  the config field it comes from, for messages
     * @param regex  the expression as the config writes it
     * @param before fixed pattern text before it
     * @param after  fixed pattern text after it
     * @return the compiled expression
     * @throws IllegalArgumentException naming the field and the expression when it does not compile
     */
    public static ConfigRegex compile(String field, String regex, String before, String after) {
        try {
            return new ConfigRegex(field, regex, Pattern.compile(before + regex + after));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("the " + field + " regex '" + regex + "' does not compile: "
                    + e.getDescription() + "; write a Java regular expression, with a backslash before a literal '(', '[' or '.'", e);
        }
    }

    /**
     * The expression as the config writes it.
     *
     * @return the regex without any frame
     */
    public String regex() {
        return regex;
    }

    /**
     * Whether the whole of {@code input} matches.
     *
     * @param input a module path or parameter name
     * @return true for a full match
     * @throws PeftException when the match takes more than the step budget
     */
    public boolean matches(String input) {
        return match(input).isPresent();
    }

    /**
     * The full match of {@code input}, with its groups.
     *
     * @param input a module path or parameter name
     * @return the match, or empty when {@code input} does not match as a whole
     * @throws PeftException when the match takes more than the step budget
     */
    public Optional<MatchResult> match(String input) {
        Matcher m = pattern.matcher(counted(input));
        return m.matches() ? Optional.of(m.toMatchResult()) : Optional.empty();
    }

    /**
     * Whether some part of {@code input} matches.
     *
     * @param input a module path or parameter name
     * @return true when the expression occurs in it
     * @throws PeftException when the search takes more than the step budget
     */
    public boolean find(String input) {
        return pattern.matcher(counted(input)).find();
    }

    /** Equal when the expressions are: the field only names where one came from. */
    @Override
    public boolean equals(Object o) {
        return o instanceof ConfigRegex other && regex.equals(other.regex) && pattern.pattern().equals(other.pattern.pattern());
    }

    @Override
    public int hashCode() {
        return pattern.pattern().hashCode();
    }

    @Override
    public String toString() {
        return regex;
    }

    /** The text being matched, each character the matcher reads counted against {@link #STEP_BUDGET}. */
    private BudgetedText counted(String text) {
        return new BudgetedText(text, STEP_BUDGET, () -> new PeftException("the " + field + " regex '" + regex
                + "' backtracks too much: matching it against the " + text.length() + "-character name '" + text
                + "' read over " + STEP_BUDGET + " characters. Avoid nested or adjacent unbounded repeats such as "
                + "(.*){12}, (a+)+ or .*.*; spell the path out instead, e.g. "
                + "'.*\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)'"));
    }
}
