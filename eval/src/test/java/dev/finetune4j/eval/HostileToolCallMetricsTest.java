package dev.finetune4j.eval;

import dev.finetune4j.core.tokenizer.ToolCall;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Arguments whose numbers a double cannot hold, scored by value as written. */
class HostileToolCallMetricsTest {

    @Test
    void numbersPastADoubleAreComparedAsWritten() {
        // read as doubles, 1e400 was Infinity (which has no decimal value: the scoring threw) and the two 0.1s were equal
        List<List<ToolCall>> predicted = List.of(
                List.of(ToolCall.of("pay", "{\"amount\": 1e400, \"rate\": 0.10000000000000000001}")),
                List.of(ToolCall.of("pay", "{\"amount\": 1E+400, \"rate\": 0.1}")));
        List<List<ToolCall>> expected = List.of(
                List.of(ToolCall.of("pay", "{\"amount\": 1e400, \"rate\": 0.1}")),
                List.of(ToolCall.of("pay", "{\"amount\": 10e399, \"rate\": 0.100}")));

        ToolCallScore s = ToolCallMetrics.score(predicted, expected);

        assertEquals(0.5, s.exactMatch(), "the first rate differs from 0.1 in its 20th decimal");
        assertEquals(3.0 / 4, s.argumentRecall());
        assertEquals(3.0 / 4, s.argumentPrecision());
    }
}
