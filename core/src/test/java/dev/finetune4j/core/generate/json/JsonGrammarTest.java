package dev.finetune4j.core.generate.json;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-written cases: which bytes may follow a prefix, and when a value is complete. */
class JsonGrammarTest {
    private static final String WS = " \t\n\r";

    private static JsonState after(JsonGrammar g, byte[] prefix) {
        JsonState s = JsonState.start(g).advance(prefix);
        assertNotNull(s, "the prefix itself must be valid: " + new String(prefix, StandardCharsets.UTF_8));
        return s;
    }

    private static JsonState after(JsonGrammar g, String prefix) {
        return after(g, prefix.getBytes(StandardCharsets.UTF_8));
    }

    /** The allowed next bytes, printable ASCII as themselves, the rest as \xNN, in byte order. */
    private static String next(JsonGrammar g, String prefix) {
        return next(after(g, prefix));
    }

    private static String next(JsonState s) {
        boolean[] ok = s.allowedNextBytes();
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < 256; b++) {
            if (ok[b]) {
                sb.append(b >= 0x20 && b < 0x7F ? String.valueOf((char) b) : String.format("\\x%02X", b));
            }
        }
        return sb.toString();
    }

    private static String range(int lo, int hi) {
        StringBuilder sb = new StringBuilder();
        for (int b = lo; b <= hi; b++) {
            sb.append(String.format("\\x%02X", b));
        }
        return sb.toString();
    }

    @Test
    void numbersStopWhereADoubleDoes() {
        JsonGrammar any = JsonGrammar.anyObject();
        assertTrue(any.matches("{\"a\": -1234567890123456}"));
        assertFalse(any.matches("{\"a\": 12345678901234567}"), "17 integer digits");
        assertTrue(any.matches("{\"a\": 0.1234567890123456e-308}"));
        assertFalse(any.matches("{\"a\": 0.12345678901234567}"), "17 fraction digits");
        assertFalse(any.matches("{\"a\": 1e3080}"), "4 exponent digits");
        assertTrue(any.matches("{\"a\": 1E+12, \"b\": 0, \"c\": -0.5}"));
    }

    @Test
    void afterAMemberNumberComeDigitsFractionExponentCommaCloseOrWhitespace() {
        JsonGrammar any = JsonGrammar.anyObject();
        assertEquals("\\x09\\x0A\\x0D ,.0123456789Ee}", next(any, "{\"a\": 1"));
        assertFalse(after(any, "{\"a\": 1").isComplete());
        assertEquals("\\x09\\x0A\\x0D ,.Ee}", next(any, "{\"a\": 0"), "no digit after a leading zero");
    }

    @Test
    void objectStartsWithAKeyOrClosesAndNothingFollowsTheEnd() {
        JsonGrammar any = JsonGrammar.anyObject();
        assertEquals("\\x09\\x0A\\x0D {", next(any, ""));
        assertEquals("\\x09\\x0A\\x0D \"}", next(any, "{"));
        assertEquals("\\x09\\x0A\\x0D :", next(any, "{\"k\""));
        JsonState done = after(any, "{\"k\": [1, \"x\", {}, true]}");
        assertTrue(done.isComplete());
        assertEquals("", next(done), "no trailing whitespace: end of output comes right after the value");
        assertNull(JsonState.start(any).advance("[1]".getBytes(StandardCharsets.UTF_8)), "json_object wants an object");
        assertFalse(any.matches("{\"a\": 1,}"), "no trailing comma");
        assertFalse(any.matches("{\"a\" 1}"));
    }

    @Test
    void valueStartsAreTheJsonValueStarts() {
        assertEquals("\\x09\\x0A\\x0D \"-0123456789[fnt{", next(JsonGrammar.anyObject(), "{\"k\":"));
    }

    @Test
    void insideAUnicodeEscapeOnlyHexDigits() {
        JsonGrammar any = JsonGrammar.anyObject();
        assertEquals("0123456789ABCDEFabcdef", next(any, "{\"a\": \"\\u12"));
        assertEquals("\"/\\bfnrtu", next(any, "{\"a\": \"\\"));
        assertTrue(any.matches("{\"a\": \"\\u00e9\\n\\\"\\\\\\/\"}"));
    }

    @Test
    void surrogateEscapesMustPair() {
        JsonGrammar any = JsonGrammar.anyObject();
        assertEquals("0123456789ABab", next(any, "{\"a\": \"\\uD"), "D800-DBFF start a pair; DC-DF would be a lone low surrogate");
        assertEquals("\\", next(any, "{\"a\": \"\\uD83D"), "a high surrogate must be followed by \\u");
        assertEquals("u", next(any, "{\"a\": \"\\uD83D\\"));
        assertEquals("Dd", next(any, "{\"a\": \"\\uD83D\\u"));
        assertEquals("CDEFcdef", next(any, "{\"a\": \"\\uD83D\\uD"));
        assertTrue(any.matches("{\"a\": \"\\uD83D\\uDE00\"}"));
        assertFalse(any.matches("{\"a\": \"\\uDE00\"}"));
    }

    @Test
    void afterAPartialUtf8ByteOnlyItsContinuations() {
        JsonGrammar any = JsonGrammar.anyObject();
        assertEquals(range(0x80, 0xBF), next(after(any, bytes("{\"a\": \"", 0xE4))));
        assertEquals(range(0x80, 0xBF), next(after(any, bytes("{\"a\": \"", 0xE4, 0xBD))));
        assertEquals(range(0xA0, 0xBF), next(after(any, bytes("{\"a\": \"", 0xE0))), "no overlong 3-byte forms");
        assertEquals(range(0x80, 0x9F), next(after(any, bytes("{\"a\": \"", 0xED))), "no UTF-16 surrogates");
        assertEquals(range(0x90, 0xBF), next(after(any, bytes("{\"a\": \"", 0xF0))), "no overlong 4-byte forms");
        assertEquals(range(0x80, 0x8F), next(after(any, bytes("{\"a\": \"", 0xF4))), "nothing above U+10FFFF");
        String inString = next(any, "{\"a\": \"");
        assertFalse(inString.contains("\\x0A") || inString.contains("\\x1F"), "no raw control characters");
        assertFalse(inString.contains("\\xC0") || inString.contains("\\xC1") || inString.contains("\\xF5") || inString.contains("\\x80"));
        assertTrue(inString.contains("\\xC2") && inString.contains("\\xF4") && inString.contains("\\x7F"));
    }

    @Test
    void atTheDepthLimitNoMoreContainersOpen() {
        JsonGrammar two = JsonGrammar.anyObject(2);
        assertTrue(next(two, "{\"a\": ").contains("["));
        String inner = next(two, "{\"a\": [");
        assertFalse(inner.contains("[") || inner.contains("{"), inner);
        assertTrue(inner.contains("\"") && inner.contains("]") && inner.contains("1"));
        assertFalse(two.matches("{\"a\": [[]]}"));
        assertTrue(two.matches("{\"a\": [1, 2]}"));
        assertFalse(JsonGrammar.anyObject(1).matches("{\"a\": {}}"));
        assertTrue(JsonGrammar.anyObject(1).matches("{\"a\": 1}"));
    }

    @Test
    void whitespaceRunsAreBounded() {
        JsonGrammar any = JsonGrammar.anyObject();
        String spaces = " ".repeat(JsonGrammar.MAX_WHITESPACE_SPACES);
        assertFalse(next(any, "{" + spaces).contains(" "), "at most " + JsonGrammar.MAX_WHITESPACE_SPACES + " spaces");
        assertTrue(next(any, "{" + spaces).contains("\\x0A"), "a line break may still come");
        assertTrue(any.matches("{\n" + spaces + "\"a\": 1\n}"));
        assertFalse(any.matches("{\n\n\"a\": 1}"), "one line break per run");
        assertEquals("\\x0A", next(any, "{\r"), "CR only as part of CRLF");
        assertTrue(any.matches("{\r\n  \"a\" : [ 1 , 2 ] \r\n}"));
        assertTrue(any.matches(" {}"), "a bounded run before the value too");
    }

    @Test
    void integerSchemaAtTopLevelIsCompleteWhileDigitsMayStillCome() {
        JsonGrammar integer = JsonGrammar.fromSchema("{\"type\": \"integer\"}", false);
        JsonState twelve = after(integer, "12");
        assertTrue(twelve.isComplete());
        assertEquals("0123456789", next(twelve));
        assertFalse(after(integer, "-").isComplete());
        assertEquals("", next(integer, "0"));
        assertFalse(integer.matches("1.5"));
        assertTrue(JsonGrammar.fromSchema("{\"type\": \"number\"}", false).matches("-0.5e+10"));
        assertFalse(JsonGrammar.fromSchema("{\"type\": \"number\"}", false).matches("01"));
    }

    @Test
    void strictSchemaFixesPropertyOrder() {
        JsonGrammar person = JsonGrammar.fromSchema("""
                {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                 "required": ["name", "age"], "additionalProperties": false}""", true);
        assertEquals("\\x09\\x0A\\x0D \"", next(person, "{"), "a required property is due: no }");
        assertEquals("n", next(person, "{\""));
        assertEquals("\\x09\\x0A\\x0D ,", next(person, "{\"name\": \"Ada\""));
        assertEquals("a", next(person, "{\"name\": \"Ada\", \""));
        assertTrue(person.matches("{\"name\": \"Ada\", \"age\": 36}"));
        assertFalse(person.matches("{\"age\": 36, \"name\": \"Ada\"}"), "schema order");
        assertFalse(person.matches("{\"name\": \"Ada\"}"));
    }

    @Test
    void optionalPropertiesMayBeSkippedButNotReordered() {
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "integer"}},
                 "required": ["c"]}""", false);
        assertEquals("abc", next(g, "{\"").replaceAll("[^abc]", ""));
        assertTrue(g.matches("{\"c\": 1}"));
        assertTrue(g.matches("{\"a\": 1, \"c\": 1}"));
        assertTrue(g.matches("{\"b\": 1, \"c\": 1}"));
        assertFalse(g.matches("{\"a\": 1}"));
        assertFalse(g.matches("{\"c\": 1, \"a\": 1}"));
        assertFalse(g.matches("{\"a\": 1, \"c\": 1, \"d\": 1}"));
    }

    @Test
    void enumsStringLengthsAndItemCounts() {
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"type": "object", "properties": {
                   "n": {"enum": [1, 12, "x", null]},
                   "s": {"type": "string", "minLength": 2, "maxLength": 3},
                   "l": {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2}},
                 "required": ["n", "s", "l"], "additionalProperties": false}""", true);
        assertTrue(next(g, "{\"n\": 1").contains("2") && next(g, "{\"n\": 1").contains(","));
        assertEquals("\\x09\\x0A\\x0D ,", next(g, "{\"n\": 12"));
        assertEquals("\\x09\\x0A\\x0D \"", next(g, "{\"n\": 1, \"s\": "));
        assertFalse(next(g, "{\"n\": 1, \"s\": \"a").contains("\""), "minLength 2");
        assertEquals("\"", next(after(g, "{\"n\": 1, \"s\": \"ab\\u00e9")));
        assertTrue(g.matches("{\"n\": \"x\", \"s\": \"é你😀\", \"l\": [true]}"), "length counts code points");
        assertFalse(g.matches("{\"n\": 2, \"s\": \"ab\", \"l\": [true]}"));
        assertFalse(g.matches("{\"n\": null, \"s\": \"ab\", \"l\": []}"));
        assertFalse(g.matches("{\"n\": null, \"s\": \"ab\", \"l\": [true, false, true]}"));
        assertTrue(g.matches("{\"n\": null, \"s\": \"ab\", \"l\": [true, false]}"));
    }

    /**
     * Enum values are matched as a sorted range narrowed byte by byte: values that are prefixes of others (numbers),
     * share long prefixes, or differ only past a multi-byte character are each accepted, and nothing else is.
     */
    @Test
    void enumValuesThatShareAndNestPrefixes() {
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"enum": [100, "ab", 1, "a", "abc", 10, "a\u00e9", "b", "a\u00e8", -1, true]}""", false);
        for (String yes : new String[]{"100", "\"ab\"", "1", "\"a\"", "\"abc\"", "10", "\"a\u00e9\"", "\"b\"",
                "\"aè\"", "-1", "true"}) {
            assertTrue(g.matches(yes), yes);
        }
        for (String no : new String[]{"1000", "11", "0", "\"abcd\"", "\"ac\"", "\"\"", "\"aé!\"", "-10", "false",
                "\"A\"", "\"ab"}) {
            assertFalse(g.matches(no), no);
        }
        assertEquals("0", next(g, "10"), "after 10: only 100 continues, and 10 may end");
        assertEquals("\"b\\xC3", next(g, "\"a"), "after \"a: its end, ab..., and the first byte of é and è");
    }

    @Test
    void anyOfTypeListsAndRefs() {
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
                 "type": "object", "properties": {
                   "p": {"anyOf": [{"$ref": "#/$defs/point"}, {"type": "string"}]},
                   "q": {"type": ["integer", "null"]}},
                 "required": ["p", "q"]}""", false);
        assertTrue(g.matches("{\"p\": {\"x\": 1.5}, \"q\": null}"));
        assertTrue(g.matches("{\"p\": \"here\", \"q\": 3}"));
        assertFalse(g.matches("{\"p\": 1, \"q\": 3}"));
        assertFalse(g.matches("{\"p\": \"here\", \"q\": 3.5}"));
    }

    @Test
    void recursiveSchemaIsBoundedByTheDepthLimit() throws Exception {
        String tree = """
                {"$defs": {"node": {"type": "object", "properties": {
                    "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                    "required": ["v", "kids"], "additionalProperties": false}},
                 "$ref": "#/$defs/node"}""";
        JsonGrammar g = JsonGrammar.fromSchema(new com.fasterxml.jackson.databind.ObjectMapper().readTree(tree), true, 4);
        assertTrue(g.matches("{\"v\": 1, \"kids\": [{\"v\": 2, \"kids\": []}]}"));
        // depth: node 1, kids 2, node 3, kids 4: a node at depth 5 would not fit, so kids at depth 4 stays empty
        assertFalse(next(g, "{\"v\": 1, \"kids\": [{\"v\": 2, \"kids\": [").contains("{"));
        assertTrue(g.matches("{\"v\": 1, \"kids\": [{\"v\": 2, \"kids\": []}]}"));
    }

    private static byte[] bytes(String prefix, int... more) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(prefix.getBytes(StandardCharsets.UTF_8));
        for (int b : more) {
            out.write(b);
        }
        return out.toByteArray();
    }
}
