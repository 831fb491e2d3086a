package dev.finetune4j.eval;

import dev.finetune4j.core.tokenizer.ToolCall;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Function-calling scores on cases counted by hand. */
class ToolCallMetricsTest {
    private static ToolCall call(String name, String arguments) {
        return ToolCall.of(name, arguments);
    }

    /**
     * Seven examples, each a case: key order (exact), a wrong argument in parallel calls, a call where an answer was
     * expected, an answer where a call was expected, both plain, numbers by value, malformed arguments.
     */
    @Test
    void scoresSevenCasesAsCountedByHand() {
        List<List<ToolCall>> expected = List.of(
                List.of(call("get_weather", "{\"city\": \"Paris\", \"unit\": \"celsius\"}")),
                List.of(call("get_weather", "{\"city\": \"Paris\"}"), call("get_time", "{\"zone\": \"Asia/Tokyo\"}")),
                List.of(),
                List.of(call("get_weather", "{\"city\": \"Paris\"}")),
                List.of(),
                List.of(call("add", "{\"a\": 18, \"b\": [1, 2]}")),
                List.of(call("get_weather", "{\"city\": \"Paris\"}")));
        List<List<ToolCall>> predicted = List.of(
                List.of(new ToolCall("call_9", "get_weather", "{\"unit\":\"celsius\",\"city\":\"Paris\"}")),
                List.of(call("get_time", "{\"zone\": \"Asia/Tokyo\"}"), call("get_weather", "{\"city\": \"Lyon\"}")),
                List.of(call("get_weather", "{\"city\": \"Paris\"}")),
                List.of(),
                List.of(),
                List.of(call("add", "{\"a\": 18.0, \"b\": [1.0, 2]}")),
                List.of(call("get_weather", "{\"city\": ")));
        ToolCallScore s = ToolCallMetrics.score(predicted, expected);
        assertEquals(3.0 / 7, s.exactMatch(), 1e-12, "key order, both plain, numbers by value");
        assertEquals(5.0 / 7, s.decisionAccuracy(), 1e-12, "all but the call instead of an answer and the reverse");
        assertEquals(5.0 / 6, s.namePrecision(), 1e-12, "6 calls made, 5 expected by name");
        assertEquals(5.0 / 6, s.nameRecall(), 1e-12, "6 calls expected, 5 made");
        assertEquals(5.0 / 7, s.argumentPrecision(), 1e-12, "7 arguments given (none by the malformed call), 5 right");
        assertEquals(5.0 / 8, s.argumentRecall(), 1e-12, "8 arguments expected, 5 given right");
        assertEquals(2 * (5.0 / 7) * (5.0 / 8) / (5.0 / 7 + 5.0 / 8), s.argumentF1(), 1e-12);
        assertEquals(5.0 / 6, s.nameF1(), 1e-12);
        assertEquals(1, s.invalidArguments());
        assertEquals(7, s.count());
    }

    @Test
    void parallelCallsOfOneFunctionPairByTheirArguments() {
        ToolCallScore s = ToolCallMetrics.score(
                List.of(List.of(call("w", "{\"city\": \"Lyon\"}"), call("w", "{\"city\": \"Paris\", \"days\": 2}"))),
                List.of(List.of(call("w", "{\"city\": \"Paris\", \"days\": 2}"), call("w", "{\"city\": \"Lyon\"}"))));
        assertEquals(1.0, s.exactMatch());
        assertEquals(1.0, s.argumentPrecision());
        assertEquals(1.0, s.argumentRecall());
        ToolCallScore extra = ToolCallMetrics.score(List.of(List.of(call("w", "{\"city\": \"Paris\", \"x\": 1}"))),
                List.of(List.of(call("w", "{\"city\": \"Paris\"}"))));
        assertEquals(0.0, extra.exactMatch(), "an argument too many is no exact match");
        assertEquals(0.5, extra.argumentPrecision());
        assertEquals(1.0, extra.argumentRecall());
    }

    @Test
    void nothingExpectedAndNothingGivenIsAllRight() {
        ToolCallScore s = ToolCallMetrics.score(List.of(List.of()), List.of(List.of()));
        assertEquals(List.of(1.0, 1.0, 1.0, 1.0, 1.0, 1.0), List.of(s.exactMatch(), s.decisionAccuracy(),
                s.namePrecision(), s.nameRecall(), s.argumentPrecision(), s.argumentRecall()));
        ToolCallScore missed = ToolCallMetrics.score(List.of(List.of()), List.of(List.of(call("w", "{}"))));
        assertEquals(0.0, missed.namePrecision(), "nothing called while a call was expected");
        assertEquals(0.0, missed.nameRecall());
        assertEquals(1.0, missed.argumentPrecision(), "no arguments on either side");
        assertEquals(0.0, missed.nameF1());
    }

    @Test
    void refusesMismatchedListsAndMalformedExpectations() {
        IllegalArgumentException sizes = assertThrows(IllegalArgumentException.class,
                () -> ToolCallMetrics.score(List.of(List.of()), List.of(List.of(), List.of())));
        assertTrue(sizes.getMessage().contains("got 1 predicted and 2 expected"), sizes.getMessage());
        IllegalArgumentException malformed = assertThrows(IllegalArgumentException.class,
                () -> ToolCallMetrics.score(List.of(List.of()), List.of(List.of(call("w", "[1]")))));
        assertTrue(malformed.getMessage().startsWith("example 0: the expected call of w has arguments that are not a "
                + "JSON object"), malformed.getMessage());
    }
}
