package dev.finetune4j.peft.lora;

import dev.finetune4j.peft.ConfigRegex;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code rank_pattern} and {@code alpha_pattern}: module-name regexes to values, in the order the config
 * gives them. A key matches a module path that ends with it ({@code (.*\.)?(key)$}, as PEFT's
 * {@code get_pattern_key}) and the first matching key wins, as PEFT iterates the dict, so the order is part of the
 * value. Each key is compiled once and matched within {@link ConfigRegex}'s step budget.
 *
 * <p>Thread safety: immutable.
 *
 * @param <V> the value type: an integer rank or a real alpha
 */
final class ModulePatterns<V> extends AbstractMap<String, V> {
    private final Map<String, V> values;
    private final List<ConfigRegex> keys;

    /**
     * @param field  the config field, for messages ({@code "rank_pattern"})
     * @param values key to value, in matching order
     * @throws IllegalArgumentException naming the field when a key does not compile or a key or value is null
     */
    ModulePatterns(String field, Map<String, V> values) {
        values.forEach((k, v) -> {
            if (k == null || v == null) {
                throw new IllegalArgumentException(field + " has the entry " + k + " = " + v + ": give a module-name "
                        + "pattern and a value, e.g. {\"q_proj\": 16}");
            }
        });
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.keys = this.values.keySet().stream().map(k -> ConfigRegex.compile(field, k, "(.*\\.)?(", ")$")).toList();
    }

    /**
     * The value of the first key, in order, that matches the end of {@code path}.
     *
     * @return the value, or null when no key matches
     * @throws dev.finetune4j.peft.PeftException when a key backtracks past its step budget on {@code path}
     */
    V firstMatch(String path) {
        for (ConfigRegex key : keys) {
            if (key.matches(path)) {
                return values.get(key.regex());
            }
        }
        return null;
    }

    @Override
    public Set<Entry<String, V>> entrySet() {
        return values.entrySet();
    }

    @Override
    public V get(Object key) {
        return values.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
        return values.containsKey(key);
    }
}
