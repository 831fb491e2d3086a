package dev.finetune4j.serve;

import dev.finetune4j.core.generate.json.JsonGrammar;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Compiled grammars kept by the text of what they were compiled from, the most recent {@value #CAPACITY}: clients
 * send the same schema (response format, tools) again and again. Compiling happens outside the lock, so two requests
 * with a new schema may both compile it; the result is the same. The texts are kept as their SHA-256: a request's
 * schema text may be megabytes (a long description), and {@value #CAPACITY} of them would pin as many in memory.
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
        String digest = sha256(key);
        synchronized (this) {
            JsonGrammar cached = grammars.get(digest);
            if (cached != null) {
                return cached;
            }
        }
        JsonGrammar compiled = compile.get();
        synchronized (this) {
            grammars.put(digest, compiled);
        }
        return compiled;
    }

    /** The SHA-256 of the text's UTF-16 code units, in hex: every char counts, a lone surrogate too. */
    private static String sha256(String text) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
        ByteBuffer chunk = ByteBuffer.allocate(8192);
        for (int i = 0; i < text.length(); i++) {
            if (!chunk.hasRemaining()) {
                sha.update(chunk.flip());
                chunk.clear();
            }
            chunk.putChar(text.charAt(i));
        }
        sha.update(chunk.flip());
        return HexFormat.of().formatHex(sha.digest());
    }
}
