package dev.finetune4j.data.record;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Text that holds one JSON object or array, such as a tool call's {@code arguments} or a tool's result: read as
 * its field names and values, rewritten value by value so that the text stays the same JSON with the same
 * layout (redacting {@code {"email": "a@b.c"}} must not touch the quotes, keys or spacing around it).
 */
final class JsonText {
    private static final JsonFactory JSON = new JsonFactory();

    private JsonText() {
    }

    /**
     * The field names, string values and number values of {@code text} in order, or null when {@code text} is not
     * one JSON object or array.
     */
    static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        return scan(text, (token, value, start, end, depth, field) -> out.add(value)) ? out : null;
    }

    /**
     * The words of JSON text of a call {@code {"name": ..., "arguments": ..., "id"?: ...}} or of an array of calls
     * (ShareGPT's function_call): each call's name and its arguments' {@link #words} (arguments given as JSON text
     * read as that text), not the call's own keys or id, so that a call reads as the same call of an OpenAI message
     * does; null when {@code text} is not one JSON object or array.
     */
    static List<String> callWords(String text) {
        int callDepth = callDepth(text);
        List<String> out = new ArrayList<>();
        boolean json = scan(text, (token, value, start, end, depth, field) -> {
            if (depth != callDepth) {
                out.add(value);
            } else if (token != JsonToken.FIELD_NAME && !"id".equals(field)) {
                List<String> inner = "arguments".equals(field) && token == JsonToken.VALUE_STRING ? words(value) : null;
                out.addAll(inner != null ? inner : List.of(value));
            }
        });
        return json ? out : null;
    }

    /**
     * {@code text} with {@code f} applied to each string and number value (field names and syntax kept; a value
     * {@code f} leaves alone keeps its original spelling, escapes included; a number {@code f} changes becomes a
     * string; an unpaired surrogate in a changed value stays a {@code \\u} escape), or null when {@code text} is not
     * one JSON object or array.
     */
    static String mapValues(String text, UnaryOperator<String> f) {
        return rewrite(text, (token, value, depth, field) -> f.apply(value));
    }

    /**
     * JSON text of a call or calls (see {@link #callWords}) with {@code f} applied to the arguments' values as
     * {@link #mapValues} applies it, arguments given as JSON text rewritten inside that text; each call's name and
     * id kept, since the call must still name its function. Null when {@code text} is not one JSON object or array.
     */
    static String mapCallValues(String text, UnaryOperator<String> f) {
        int callDepth = callDepth(text);
        return rewrite(text, (token, value, depth, field) -> {
            if (depth != callDepth) {
                return f.apply(value);
            }
            if ("name".equals(field) || "id".equals(field)) {
                return value;
            }
            String inner = "arguments".equals(field) && token == JsonToken.VALUE_STRING ? mapValues(value, f) : null;
            return inner != null ? inner : f.apply(value);
        });
    }

    /** The nesting depth of the call objects: 1 in a call object, 2 in an array of calls. */
    private static int callDepth(String text) {
        return text.stripLeading().startsWith("[") ? 2 : 1;
    }

    /** What a rewrite makes of one string or number value, given where it lies. */
    private interface ValueMap {
        String apply(JsonToken token, String value, int depth, String field);
    }

    private static String rewrite(String text, ValueMap f) {
        StringBuilder out = new StringBuilder(text.length());
        int[] copied = {0};
        boolean json = scan(text, (token, value, start, end, depth, field) -> {
            if (token == JsonToken.FIELD_NAME) {
                return;
            }
            String mapped = f.apply(token, value, depth, field);
            if (!mapped.equals(value)) {
                out.append(text, copied[0], start).append('"');
                quote(mapped, out);
                out.append('"');
                copied[0] = end;
            }
        });
        return json ? out.append(text, copied[0], text.length()).toString() : null;
    }

    /**
     * Appends {@code value} as the inside of a JSON string. An unpaired surrogate (the input may hold one as a valid
     * {@code \\ud800} escape) is written as an escape again: raw, no UTF-8 writer could encode it.
     */
    private static void quote(String value, StringBuilder out) {
        int from = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                JsonStringEncoder.getInstance().quoteAsString(value.subSequence(from, i), out);
                out.append(String.format("\\u%04x", (int) c));
                from = i + 1;
            }
        }
        JsonStringEncoder.getInstance().quoteAsString(value.subSequence(from, value.length()), out);
    }

    /**
     * What {@link #scan} reports: a token, its decoded text, where it lies in the input (end exclusive), how deep
     * (1 directly in the outermost object or array) and the field it names or is the value of (null in an array).
     */
    private interface Visitor {
        void token(JsonToken token, String value, int start, int end, int depth, String field);
    }

    /**
     * Visits every field name, string and number of {@code text} in order; false, visiting nothing, when
     * {@code text} is not exactly one JSON object or array.
     */
    private static boolean scan(String text, Visitor visitor) {
        List<Runnable> visits = new ArrayList<>();
        try (JsonParser p = JSON.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first != JsonToken.START_OBJECT && first != JsonToken.START_ARRAY) {
                return false;
            }
            for (int depth = 1; depth > 0; ) {
                JsonToken t = p.nextToken();
                if (t == null) {
                    return false;
                }
                switch (t) {
                    case START_OBJECT, START_ARRAY -> depth++;
                    case END_OBJECT, END_ARRAY -> depth--;
                    case FIELD_NAME, VALUE_STRING, VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                        int start = (int) p.currentTokenLocation().getCharOffset();
                        String value = t == JsonToken.FIELD_NAME ? p.currentName() : p.getText();
                        // a number's text is its spelling in the input; a string or a name runs to its closing quote
                        int end = t.isNumeric() ? start + value.length() : closingQuote(text, start) + 1;
                        int at = depth;
                        String field = p.currentName();
                        visits.add(() -> visitor.token(t, value, start, end, at, field));
                    }
                    default -> {
                    }
                }
            }
            if (p.nextToken() != null) {
                return false;
            }
        } catch (JacksonException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        visits.forEach(Runnable::run);
        return true;
    }

    /** The index of the quote that closes the JSON string whose opening quote is at {@code open}. */
    private static int closingQuote(String text, int open) {
        int i = open + 1;
        while (text.charAt(i) != '"') {
            i += text.charAt(i) == '\\' ? 2 : 1;
        }
        return i;
    }
}
