package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fast mask against a brute-force one (every token simulated byte by byte from the state), on states reached by
 * random constrained walks over real and synthetic vocabularies; and every finished walk parses with Jackson and
 * satisfies its schema, checked by hand-written assertions.
 */
class JsonConstraintTest {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static final String PERSON = """
            {"type": "object", "properties": {
              "name": {"type": "string", "minLength": 1, "maxLength": 8},
              "age": {"type": "integer"},
              "score": {"type": "number"},
              "tags": {"type": "array", "items": {"type": "string", "maxLength": 4}, "minItems": 1, "maxItems": 3},
              "kind": {"enum": ["cat", "dog", "大熊猫"]},
              "nick": {"type": ["string", "null"], "minLength": 2},
              "ok": {"type": "boolean"},
              "addr": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}},
             "required": ["name", "age", "score", "tags", "kind", "nick", "ok", "addr"], "additionalProperties": false}""";
    static final String TREE = """
            {"$defs": {"node": {"type": "object", "properties": {
                "v": {"anyOf": [{"type": "integer"}, {"const": "leaf"}]},
                "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
                "required": ["v"]}},
             "$ref": "#/$defs/node"}""";
    static final String MAP = "{\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}}";

    record Case(String name, JsonGrammar grammar, Consumer<JsonNode> check) {
    }

    static List<Case> cases() {
        return List.of(
                new Case("json_object", JsonGrammar.anyObject(4), n -> assertTrue(n.isObject())),
                new Case("person", JsonGrammar.fromSchema(PERSON, true), JsonConstraintTest::checkPerson),
                new Case("tree", JsonGrammar.fromSchema(TREE, false, 6), JsonConstraintTest::checkTree),
                new Case("map", JsonGrammar.fromSchema(MAP, false), n -> {
                    assertTrue(n.isObject());
                    n.forEach(v -> assertTrue(v.isIntegralNumber(), v.toString()));
                }));
    }

    static void checkPerson(JsonNode n) {
        List<String> keys = new ArrayList<>();
        n.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("name", "age", "score", "tags", "kind", "nick", "ok", "addr"), keys);
        int nameLength = n.get("name").asText().codePointCount(0, n.get("name").asText().length());
        assertTrue(n.get("name").isTextual() && nameLength >= 1 && nameLength <= 8, n.toString());
        assertTrue(n.get("age").isIntegralNumber());
        assertTrue(n.get("score").isNumber());
        assertTrue(n.get("tags").isArray() && n.get("tags").size() >= 1 && n.get("tags").size() <= 3);
        n.get("tags").forEach(t -> assertTrue(t.isTextual() && t.asText().codePointCount(0, t.asText().length()) <= 4, t.toString()));
        assertTrue(List.of("cat", "dog", "大熊猫").contains(n.get("kind").asText()) && n.get("kind").isTextual());
        assertTrue(n.get("nick").isNull() || n.get("nick").isTextual()
                && n.get("nick").asText().codePointCount(0, n.get("nick").asText().length()) >= 2, n.toString());
        assertTrue(n.get("ok").isBoolean());
        assertTrue(n.get("addr").isObject() && n.get("addr").size() == 1 && n.get("addr").get("city").isTextual());
    }

    static void checkTree(JsonNode n) {
        assertTrue(n.isObject(), n.toString());
        Iterator<String> keys = n.fieldNames();
        assertEquals("v", keys.next());
        if (keys.hasNext()) {
            assertEquals("kids", keys.next());
            assertFalse(keys.hasNext());
        }
        JsonNode v = n.get("v");
        assertTrue(v.isIntegralNumber() || v.isTextual() && v.asText().equals("leaf"), v.toString());
        if (n.has("kids")) {
            assertTrue(n.get("kids").isArray() && n.get("kids").size() <= 2);
            n.get("kids").forEach(JsonConstraintTest::checkTree);
        }
    }

    /** Every id the state accepts, simulated byte by byte; EOS when the value is complete. */
    static long[] bruteForceMask(JsonState state, TokenBytes vocab, int eos) {
        long[] mask = new long[(vocab.size() + 63) >>> 6];
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytes(id);
            if (!vocab.isSpecial(id) && b != null && b.length > 0 && state.advance(b) != null) {
                mask[id >>> 6] |= 1L << id;
            }
        }
        if (state.isComplete()) {
            mask[eos >>> 6] |= 1L << eos;
        }
        return mask;
    }

    static List<Integer> ids(long[] mask) {
        List<Integer> ids = new ArrayList<>();
        for (int w = 0; w < mask.length; w++) {
            for (long bits = mask[w]; bits != 0; bits &= bits - 1) {
                ids.add(w * 64 + Long.numberOfTrailingZeros(bits));
            }
        }
        return ids;
    }

    /**
     * A random constrained walk: random allowed tokens for {@code freeSteps}, then tokens that close things, until
     * end of sequence. Checks the fast mask against brute force every {@code checkEvery} steps. Returns the text.
     */
    static String walk(JsonGrammar grammar, TokenBytes vocab, int eos, long seed, int freeSteps, int checkEvery) {
        Random random = new Random(seed);
        JsonConstraint c = new JsonConstraint(grammar, vocab, eos);
        for (int step = 0; step < 5000; step++) {
            long[] mask = c.allowed();
            if (checkEvery > 0 && step % checkEvery == 0) {
                long[] brute = bruteForceMask(c.state(), vocab, eos);
                if (!java.util.Arrays.equals(brute, mask)) {
                    List<Integer> fast = ids(mask);
                    List<Integer> slow = ids(brute);
                    List<Integer> onlyFast = new ArrayList<>(fast);
                    onlyFast.removeAll(slow);
                    List<Integer> onlySlow = new ArrayList<>(slow);
                    onlySlow.removeAll(fast);
                    fail("mask differs after \"" + c.output() + "\": only fast " + head(onlyFast, vocab) + ", only brute " + head(onlySlow, vocab));
                }
            }
            List<Integer> allowed = ids(mask);
            assertFalse(allowed.isEmpty(), "dead end after \"" + c.output() + "\"");
            int next = step < freeSteps ? allowed.get(random.nextInt(allowed.size())) : closing(allowed, vocab, eos, random);
            c.accept(next);
            if (next == eos) {
                assertTrue(c.isEnded());
                long[] after = c.allowed();
                assertTrue(ids(after).isEmpty(), "nothing after end of sequence");
                return c.output();
            }
        }
        fail("no end of sequence within 5000 tokens: \"" + c.output() + "\"");
        return null;
    }

    private static String head(List<Integer> ids, TokenBytes vocab) {
        StringBuilder sb = new StringBuilder("[");
        for (int id : ids.subList(0, Math.min(8, ids.size()))) {
            byte[] b = vocab.bytes(id);
            sb.append(id).append('=').append(b == null ? "null" : java.util.HexFormat.of().formatHex(b)).append(' ');
        }
        return sb.append("] of ").append(ids.size()).toString();
    }

    /**
     * Prefers end of sequence, then single closing bytes, then separators (a required member or item may be due),
     * then other single bytes that open nothing.
     */
    private static int closing(List<Integer> allowed, TokenBytes vocab, int eos, Random random) {
        if (allowed.contains(eos)) {
            return eos;
        }
        for (String level : List.of("\"}]", ",:", "")) {
            List<Integer> pick = new ArrayList<>();
            for (int id : allowed) {
                byte[] b = vocab.bytes(id);
                if (b != null && b.length == 1) {
                    boolean closes = level.indexOf(b[0]) >= 0;
                    boolean neutral = level.isEmpty() && " \t\r\n,[{\\".indexOf(b[0]) < 0;
                    if (closes || neutral) {
                        pick.add(id);
                    }
                }
            }
            if (!pick.isEmpty()) {
                return pick.get(random.nextInt(pick.size()));
            }
        }
        List<Integer> nonBlank = allowed.stream().filter(id -> vocab.bytes(id) != null && vocab.bytes(id)[0] > ' ').toList();
        return (nonBlank.isEmpty() ? allowed : nonBlank).get(random.nextInt((nonBlank.isEmpty() ? allowed : nonBlank).size()));
    }

    private static void walkAll(TokenBytes vocab, int eos, int walks, int freeSteps, int checkEvery) throws Exception {
        for (Case c : cases()) {
            int longest = 0;
            for (int w = 0; w < walks; w++) {
                String text = walk(c.grammar(), vocab, eos, 1000L * w + c.name().hashCode(), freeSteps, checkEvery);
                JsonNode parsed;
                try {
                    parsed = JSON.readTree(text);
                } catch (Exception e) {
                    throw new AssertionError(c.name() + " walk " + w + " produced text Jackson refuses: " + text, e);
                }
                try {
                    c.check().accept(parsed);
                } catch (AssertionError e) {
                    throw new AssertionError(c.name() + " walk " + w + " broke its schema: " + text, e);
                }
                assertTrue(c.grammar().matches(text));
                longest = Math.max(longest, text.length());
            }
            assertTrue(longest > 12, c.name() + ": the walks should reach past a trivial value; longest " + longest);
        }
    }

    @Test
    void byteVocabularyWalksMatchBruteForceAndParse() throws Exception {
        walkAll(TokenBytes.byteLevel(), ByteLevelTokenizer.EOS, 6, 120, 1);
    }

    @Test
    void byteLevelBpeFixtureWalksMatchBruteForceAndParse() throws Exception {
        walkAll(TokenBytes.fromTokenizerJson(TokenBytesTest.resource("bytebpe")), 269, 4, 80, 1);
    }

    @Test
    void sentencePieceFixtureWalksMatchBruteForceAndParse() throws Exception {
        walkAll(TokenBytes.fromTokenizerJson(TokenBytesTest.resource("json-sentencepiece")), 2, 4, 80, 1);
    }

    @Test
    void syntheticVocabularyWalksMatchBruteForceAndParse() throws Exception {
        TokenBytes vocab = SyntheticVocab.build(6000, 7);
        walkAll(vocab, SyntheticVocab.eos(vocab), 3, 40, 3);
    }

    @Test
    void refusedTokensAreNamedAndLeaveTheStateAlone() {
        TokenBytes vocab = TokenBytes.byteLevel();
        JsonConstraint c = new JsonConstraint(JsonGrammar.anyObject(), vocab, ByteLevelTokenizer.EOS);
        IllegalArgumentException early = assertThrows(IllegalArgumentException.class, () -> c.accept(ByteLevelTokenizer.EOS));
        assertTrue(early.getMessage().contains("token 257") && early.getMessage().contains("before the JSON value is complete"), early.getMessage());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> c.accept('x'));
        assertTrue(wrong.getMessage().contains("token 120") && wrong.getMessage().contains("\"x\""), wrong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.accept(ByteLevelTokenizer.BOS));
        c.accept('{');
        c.accept('}');
        assertTrue(c.isComplete());
        assertEquals(List.of(ByteLevelTokenizer.EOS), ids(c.allowed()), "a closed object allows only end of sequence");
        float[] logits = new float[300];
        c.maskLogits(logits);
        for (int id = 0; id < logits.length; id++) {
            assertEquals(id == ByteLevelTokenizer.EOS ? 0f : Float.NEGATIVE_INFINITY, logits[id], "id " + id);
        }
        c.accept(ByteLevelTokenizer.EOS);
        assertEquals("{}", c.output());
        assertThrows(IllegalStateException.class, () -> c.accept('{'));
    }

    @Test
    void aVocabularyThatCannotSpellTheNextByteFailsNamingWhy() {
        // "{", "}", "a" and an end token: no token spells the '"' that starts the required key
        byte[][] tokens = {{'{'}, {'}'}, {'a'}, "</s>".getBytes(StandardCharsets.UTF_8)};
        BitSet special = new BitSet();
        special.set(3);
        JsonGrammar grammar = JsonGrammar.fromSchema("""
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}""", false);
        JsonConstraint c = new JsonConstraint(grammar, TokenBytes.of(tokens, special), 3);
        float[] logits = new float[4];
        c.maskLogits(logits);
        assertArrayEquals(new float[]{0, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, logits);
        c.accept(0);
        IllegalStateException stuck = assertThrows(IllegalStateException.class, () -> c.maskLogits(new float[4]));
        assertTrue(stuck.getMessage().contains("no token of the vocabulary continues the output \"{\"")
                && stuck.getMessage().contains("none of its 4 tokens"), stuck.getMessage());
    }

    @Test
    void insideAFreeStringThePlainSetAndTheTrieAgree() {
        TokenBytes vocab = SyntheticVocab.build(6000, 11);
        int eos = SyntheticVocab.eos(vocab);
        JsonConstraint c = new JsonConstraint(JsonGrammar.anyObject(), vocab, eos);
        for (byte b : "{\"key\": \"some text ".getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            c.accept(b & 0xFF);
        }
        assertTrue(c.state().inFreeString());
        long[] fast = c.allowed();
        long[] trieOnly = new long[fast.length];
        vocab.index().all.walk(0, c.state(), trieOnly);
        assertArrayEquals(trieOnly, fast);
        assertArrayEquals(bruteForceMask(c.state(), vocab, eos), fast);
        assertTrue(ids(fast).size() > 4000, "most of the vocabulary is plain string content: " + ids(fast).size());
    }

    @Test
    void insideLengthLimitedStringsTheFastMaskMatchesBruteForce() {
        TokenBytes vocab = SyntheticVocab.build(6000, 13);
        int eos = SyntheticVocab.eos(vocab);
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"type": "object", "properties": {"s": {"type": "string", "maxLength": 5},
                  "t": {"type": "string", "minLength": 3}}, "required": ["s", "t"], "additionalProperties": false}""", true);
        for (String prefix : List.of("{\"s\": \"", "{\"s\": \"ab", "{\"s\": \"abcd", "{\"s\": \"é你", "{\"s\": \"abcde",
                "{\"s\": \"a\\n", "{\"s\": \"a\", \"t\": \"", "{\"s\": \"a\", \"t\": \"xy", "{\"s\": \"a\", \"t\": \"xyz")) {
            JsonConstraint c = new JsonConstraint(g, vocab, eos);
            for (byte b : prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                c.accept(b & 0xFF); // the synthetic vocabulary's ids 0-255 are the single bytes
            }
            assertArrayEquals(bruteForceMask(c.state(), vocab, eos), c.allowed(), prefix);
        }
    }
}
