package dev.finetune4j.serve;

import dev.finetune4j.core.generate.json.JsonGrammar;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache returns what it compiled for the same text only, and keeps no request's text alive. */
class GrammarCacheTest {

    @Test
    void theSameTextIsCompiledOnceAndTextsDifferingInOneCharAreNot() {
        GrammarCache cache = new GrammarCache();
        AtomicInteger compiles = new AtomicInteger();

        JsonGrammar first = cache.get("{\"enum\": [\"\uD800\"]}", () -> compiled(compiles));
        JsonGrammar again = cache.get("{\"enum\": [\"\uD800\"]}", () -> compiled(compiles));
        JsonGrammar other = cache.get("{\"enum\": [\"\uDC00\"]}", () -> compiled(compiles)); // same bytes as UTF-8 ('?')

        assertSame(first, again);
        assertNotSame(first, other);
        assertEquals(2, compiles.get());
    }

    @Test
    void megabyteSchemaTextsAreNotKeptInMemory() {
        // 64 distinct 2M-character texts (a long description in a tool schema): kept as keys they pin 128 MB
        GrammarCache cache = new GrammarCache();
        JsonGrammar grammar = JsonGrammar.anyObject();
        String body = "d".repeat(2_000_000);
        long before = heapAfterGc();
        for (int i = 0; i < 64; i++) {
            cache.get(i + body, () -> grammar);
        }
        long kept = heapAfterGc() - before;

        assertTrue(kept < 16L << 20, "the cache keeps " + (kept >> 20) + " MB");
    }

    private static JsonGrammar compiled(AtomicInteger compiles) {
        compiles.incrementAndGet();
        return JsonGrammar.anyObject();
    }

    private static long heapAfterGc() {
        Runtime runtime = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return runtime.totalMemory() - runtime.freeMemory();
    }
}
