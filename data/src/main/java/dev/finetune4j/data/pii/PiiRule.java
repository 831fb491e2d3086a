package dev.finetune4j.data.pii;

import java.io.Serializable;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * One kind of value to find: a pattern, a validator that must accept the matched text (checksums, dates), and
 * how many characters masking keeps at each end.
 *
 * @param name        the type's name in reports, e.g. {@code EMAIL}
 * @param placeholder what the placeholder strategy writes, e.g. {@code [EMAIL]}
 * @param pattern     the candidate pattern
 * @param validator   accepts or rejects a candidate; rejected candidates are left in the text
 * @param keepPrefix  letters/digits kept at the start when masking
 * @param keepSuffix  letters/digits kept at the end when masking
 */
public record PiiRule(String name, String placeholder, Pattern pattern, Validator validator, int keepPrefix,
                      int keepSuffix) implements Serializable {
    /** A serializable candidate check. */
    @FunctionalInterface
    public interface Validator extends Predicate<String>, Serializable {
    }

    /**
     * A user rule that accepts every match of {@code regex}, placeholder {@code [NAME]}, masked entirely.
     *
     * @param name the type name, upper case by convention
     * @param regex the pattern, in {@link java.util.regex.Pattern} syntax
     * @return the rule
     */
    public static PiiRule custom(String name, String regex) {
        return new PiiRule(name, "[" + name + "]", Pattern.compile(regex), s -> true, 0, 0);
    }
}
