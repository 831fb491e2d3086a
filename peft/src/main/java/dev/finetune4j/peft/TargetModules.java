package dev.finetune4j.peft;

import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which modules of the base model a method applies to, as PEFT's {@code target_modules} says it: a JSON list of
 * names matches a module whose dotted path equals a name or ends with {@code "." + name}; a JSON string is a
 * regular expression that must match the whole path.
 *
 * <p>Thread safety: immutable.
 */
public sealed interface TargetModules {

    /** True when the module at dotted {@code path} (for example {@code model.layers.0.self_attn.q_proj}) is targeted. */
    boolean matches(String path);

    /** A list of module names, matched as path suffixes at a dot boundary. */
    static TargetModules names(String... names) {
        return new Names(List.of(names));
    }

    /** A regular expression matched against the whole dotted path. */
    static TargetModules regex(String regex) {
        return new Regex(regex);
    }

    /** @param names module names; a path matches when it equals one or ends with "." + one */
    record Names(List<String> names) implements TargetModules {
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

    /** @param regex a Java regular expression (Python's {@code re} syntax for the usual cases), full match */
    record Regex(String regex) implements TargetModules {
        public Regex {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("target_modules regex '" + regex + "' does not compile: " + e.getDescription(), e);
            }
        }

        @Override
        public boolean matches(String path) {
            return Pattern.compile(regex).matcher(path).matches();
        }
    }
}
