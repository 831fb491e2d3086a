package dev.finetune4j.eval;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Function-calling accuracy: predicted {@link ToolCall}s (e.g. parsed from a fine-tuned model's answers with
 * {@code ToolCallFormat.parse}) against the expected ones, as function-calling benchmarks check calls by their
 * structure, not their text: arguments are compared as JSON values (key order and spacing do not matter, numbers
 * compare by value, so {@code 18} equals {@code 18.0}), call ids are ignored, and parallel calls match in any order.
 *
 * <p>Within an example, each expected call is paired with the unpaired predicted call of the same name that gives the
 * most of its arguments right (greedily, in the expected calls' order); an argument counts as right when its key is
 * given with an equal value. Precision and recall are summed over all examples (micro averages); a zero denominator
 * gives 1 when the other side is empty too (nothing expected, nothing given), else 0.
 *
 * <pre>{@code
 * ToolCallScore s = ToolCallMetrics.score(predicted, expected);   // List<List<ToolCall>> each, one list per example
 * s.exactMatch(); s.decisionAccuracy(); s.nameF1(); s.argumentF1();
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class ToolCallMetrics {
    /** Decimals as {@link java.math.BigDecimal}s: a double cannot hold 1e400 or tell 0.1 from 0.10000000000000000001. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private ToolCallMetrics() {
    }

    /**
     * Scores predicted calls against expected ones, example by example.
     *
     * @param predicted the calls each example's answer made (an empty list for a plain answer)
     * @param expected the calls each example should make, in the same order
     * @return the scores
     * @throws IllegalArgumentException when the lists differ in length or are empty, or an expected call's arguments
     *                                  are not a JSON object
     */
    public static ToolCallScore score(List<List<ToolCall>> predicted, List<List<ToolCall>> expected) {
        if (predicted.size() != expected.size() || expected.isEmpty()) {
            throw new IllegalArgumentException("need one list of predicted calls per example and at least one example, got "
                    + predicted.size() + " predicted and " + expected.size() + " expected");
        }
        int exact = 0;
        int decisions = 0;
        long namesRight = 0;
        long namesGiven = 0;
        long namesExpected = 0;
        long argumentsRight = 0;
        long argumentsGiven = 0;
        long argumentsExpected = 0;
        int invalid = 0;
        for (int i = 0; i < expected.size(); i++) {
            List<Call> want = new ArrayList<>();
            for (ToolCall c : expected.get(i)) {
                JsonNode arguments = arguments(c);
                if (arguments == null) {
                    throw new IllegalArgumentException("example " + i + ": the expected call of " + c.name()
                            + " has arguments that are not a JSON object: " + c.arguments());
                }
                want.add(new Call(c.name(), arguments));
            }
            List<Call> given = new ArrayList<>();
            for (ToolCall c : predicted.get(i)) {
                JsonNode arguments = arguments(c);
                invalid += arguments == null ? 1 : 0;
                given.add(new Call(c.name(), arguments == null ? JSON.createObjectNode() : arguments));
            }
            decisions += want.isEmpty() == given.isEmpty() ? 1 : 0;
            namesGiven += given.size();
            namesExpected += want.size();
            argumentsGiven += given.stream().mapToLong(c -> c.arguments.size()).sum();
            argumentsExpected += want.stream().mapToLong(c -> c.arguments.size()).sum();
            int callsRight = 0;
            List<Call> unpaired = new ArrayList<>(given);
            for (Call w : want) {
                Call best = null;
                int bestRight = -1;
                for (Call g : unpaired) {
                    int right = g.name().equals(w.name()) ? rightArguments(g.arguments(), w.arguments()) : -1;
                    if (right > bestRight) {
                        best = g;
                        bestRight = right;
                    }
                }
                if (best != null && bestRight >= 0) {
                    unpaired.remove(best);
                    namesRight++;
                    argumentsRight += bestRight;
                    boolean whole = bestRight == w.arguments().size() && best.arguments().size() == w.arguments().size();
                    callsRight += whole ? 1 : 0;
                }
            }
            exact += callsRight == want.size() && given.size() == want.size() ? 1 : 0;
        }
        int n = expected.size();
        return new ToolCallScore((double) exact / n, (double) decisions / n, ratio(namesRight, namesGiven, namesExpected),
                ratio(namesRight, namesExpected, namesGiven), ratio(argumentsRight, argumentsGiven, argumentsExpected),
                ratio(argumentsRight, argumentsExpected, argumentsGiven), invalid, n);
    }

    /** A call's name and its arguments object. */
    private record Call(String name, JsonNode arguments) {
    }

    /** The arguments as a JSON object, or null when they are not one. */
    private static JsonNode arguments(ToolCall c) {
        try {
            JsonNode node = JSON.readTree(c.arguments());
            return node != null && node.isObject() ? node : null;
        } catch (JacksonException e) {
            return null;
        }
    }

    /** How many of {@code expected}'s keys {@code given} has with an equal value. */
    private static int rightArguments(JsonNode given, JsonNode expected) {
        int right = 0;
        for (Map.Entry<String, JsonNode> e : expected.properties()) {
            JsonNode value = given.get(e.getKey());
            right += value != null && sameValue(value, e.getValue()) ? 1 : 0;
        }
        return right;
    }

    /** JSON equality with numbers compared by value and objects regardless of key order. */
    static boolean sameValue(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        if (a.isObject() && b.isObject()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (Map.Entry<String, JsonNode> e : a.properties()) {
                JsonNode other = b.get(e.getKey());
                if (other == null || !sameValue(e.getValue(), other)) {
                    return false;
                }
            }
            return true;
        }
        if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!sameValue(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    /** {@code right / total}, or 1 when nothing was there to get right on either side, else 0 for an empty total. */
    private static double ratio(long right, long total, long otherSide) {
        if (total == 0) {
            return otherSide == 0 ? 1 : 0;
        }
        return (double) right / total;
    }
}
