package dev.finetune4j.serve;

import dev.finetune4j.core.generate.json.JsonGrammar;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Compiled grammars kept by the text of what they were compiled from, the most recent {@value #CAPACITY}: clients
 * send the same schema (response format, tools) again and again. Compiling happens outside the lock, so two requests
 * with a new schema may both compile it; the result is the same.
 *
 * <p>Thread safety: safe for concurrent requests.
 */
final class GrammarCache {
    private static final int CAPACITY = 64;

    private final Map<String, JsonGrammar> grammars = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JsonGrammar> eldest) {
            return size() > CAPACITY;
        }
    };

    /** The grammar kept under {@code key}, or the one {@code compile} makes (kept unless it throws). */
    JsonGrammar get(String key, Supplier<JsonGrammar> compile) {
        synchronized (this) {
            JsonGrammar cached = grammars.get(key);
            if (cached != null) {
                return cached;
            }
        }
        JsonGrammar compiled = compile.get();
        synchronized (this) {
            grammars.put(key, compiled);
        }
        return compiled;
    }
}
