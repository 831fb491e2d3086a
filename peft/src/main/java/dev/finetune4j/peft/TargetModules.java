package dev.finetune4j.peft;

import java.util.Arrays;
import java.util.List;

/**
 * Which modules of the base model a method applies to, as PEFT's {@code target_modules} says it: a JSON list of
 * names matches a module whose dotted path equals a name or ends with {@code "." + name}; a JSON string is a
 * regular expression that must match the whole path (within {@link ConfigRegex}'s step budget).
 *
 * <p>Thread safety: immutable.
 */
public sealed interface TargetModules {

    /**
     * True when the module at dotted {@code path} (for example {@code model.layers.0.self_attn.q_proj}) is targeted.
     *
     * @param path a module's dotted path from the model's root
     * @return whether an adapter goes there
     */
    boolean matches(String path);

    /**
     * A list of module names, matched as path suffixes at a dot boundary.
     *
     * @param names one or more module names, e.g. {@code q_proj}
     * @return the target list
     */
    static TargetModules names(String... names) {
        return new Names(List.of(names));
    }

    /**
     * A regular expression matched against the whole dotted path, as {@code target_modules}.
     *
     * @param regex the expression, e.g. {@code .*\.(q|v)_proj}
     * @return the target expression
     * @throws IllegalArgumentException when the expression does not compile
     */
    static TargetModules regex(String regex) {
        return regex("target_modules", regex);
    }

    /**
     * A regular expression matched against the whole dotted path, for the config field {@code field}.
     *
     * @param field the field it comes from, named in messages ({@code "exclude_modules"})
     * @param regex the expression
     * @return the target expression
     * @throws IllegalArgumentException when the expression does not compile
     */
    static TargetModules regex(String field, String regex) {
        return new Regex(ConfigRegex.compile(field, regex));
    }

    /**
     * An {@code exclude_modules} that also excludes every module under {@code prefixes}: the parts of a checkpoint's
     * transformers class that the model leaves out (a vision tower), where Python PEFT would otherwise put adapters
     * of the same names that the saved file has no tensors for. One regex, as PEFT reads a string; the names or
     * expression of {@code exclude} keep their meaning inside it. An {@code exclude} already made by this method for
     * the same prefixes is returned as it is, so that loading and saving again does not nest it.
     *
     * @param exclude  the exclusion given, or null
     * @param prefixes dotted module paths, such as {@code model.vision_tower}
     * @return an exclusion regex matching {@code exclude}'s modules and everything under the prefixes
     */
    static TargetModules excludingUnder(TargetModules exclude, List<String> prefixes) {
        String under = "(?:" + String.join("|", prefixes.stream().map(TargetModules::literal).toList()) + ")\\..*";
        return switch (exclude) {
            case null -> regex("exclude_modules", under);
            case Regex r when r.regex().equals(under) || r.regex().startsWith(under + "|") -> r;
            case Regex r -> regex("exclude_modules", under + "|(?:" + r.regex() + ")");
            case Names n -> regex("exclude_modules", under + "|(?:.*\\.)?(?:"
                    + String.join("|", n.names().stream().map(TargetModules::literal).toList()) + ")");
        };
    }

    /**
     * The module prefixes that an exclusion made by {@link #excludingUnder} leaves out, read back from its expression
     * (an adapter saved on a vision-language checkpoint), so that such an adapter and one saved without the exclusion
     * (by an older release, or by Python PEFT) can be compared and mixed.
     *
     * @param exclude an {@code exclude_modules}, or null
     * @return the prefixes, such as {@code model.vision_tower}; empty when {@code exclude} is not of that form
     */
    static List<String> prefixesExcludedUnder(TargetModules exclude) {
        if (!(exclude instanceof Regex r) || !r.regex().startsWith("(?:")) {
            return List.of();
        }
        String regex = r.regex();
        int end = regex.indexOf(")\\..*");
        if (end < 0) {
            return List.of();
        }
        List<String> prefixes = Arrays.stream(regex.substring("(?:".length(), end).split("\\|"))
                .map(p -> p.replaceAll("\\\\(.)", "$1")).toList();
        String under = ((Regex) excludingUnder(null, prefixes)).regex();
        boolean made = regex.equals(under) || regex.startsWith(under + "|");
        return made ? prefixes : List.of();
    }

    /** {@code text} as a regex that matches it literally, in the syntax Java's and Python's expressions share. */
    private static String literal(String text) {
        StringBuilder b = new StringBuilder(text.length() + 4);
        text.chars().forEach(c -> {
            if (!Character.isLetterOrDigit(c) && c != '_') {
                b.append('\\');
            }
            b.append((char) c);
        });
        return b.toString();
    }

    /**
     * Modules chosen by name.
     *
     * @param names module names; a path matches when it equals one or ends with "." + one
     */
    record Names(List<String> names) implements TargetModules {
        /** Copies the names and checks that there is at least one. */
        public Names {
            names = List.copyOf(names);
            if (names.isEmpty()) {
                throw new IllegalArgumentException("target_modules is an empty list: name at least one module, for example \"q_proj\"");
            }
        }

        @Override
        public boolean matches(String path) {
            for (String n : names) {
                if (path.equals(n) || path.endsWith("." + n)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Modules chosen by a regular expression over their whole dotted path.
     *
     * @param pattern a Java regular expression (Python's {@code re} syntax for the usual cases), full match, compiled
     *                once and matched within {@link ConfigRegex}'s step budget
     */
    record Regex(ConfigRegex pattern) implements TargetModules {
        /**
         * The expression as the config writes it.
         *
         * @return the regex
         */
        public String regex() {
            return pattern.regex();
        }

        /**
         * True when the expression matches the whole of {@code path}.
         *
         * @throws PeftException when the expression backtracks past its step budget on {@code path}
         */
        @Override
        public boolean matches(String path) {
            return pattern.matches(path);
        }
    }
}
