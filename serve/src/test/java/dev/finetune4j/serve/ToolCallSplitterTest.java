package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.ToolCall;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tool_choice "auto"} below the route, on scripted model output (a random model writes no calls by itself):
 * what the splitter reports for text, calls and finishes, with every token reported once, and the chat shape of
 * the resulting choices and stream deltas.
 */
class ToolCallSplitterTest {

    @Test
    void textBeforeTheCallsIsContentAndEachCallGoesOutWithItsTokens() {
        SplitRecorder sink = new SplitRecorder();
        ToolCallSplitter splitter = new ToolCallSplitter(ToolCallFormat.HERMES, true, 1, sink);

        splitter.onText(0, "Let me ", new long[]{1}, List.of());
        splitter.onText(0, "check <tool", new long[]{2, 3}, List.of());
        splitter.onText(0, "_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>", new long[]{4, 5}, List.of());
        splitter.onText(0, "\n<tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call>", new long[]{6}, List.of());
        splitter.onText(0, "\n", new long[]{7}, List.of());
        splitter.onFinish(0, ChoiceFinish.STOP);

        assertEquals(List.of(
                "0 text 'Let me ' [1]",
                "0 text 'check ' [2, 3]",
                "0 start 0 get_weather [4, 5]",
                "0 args 0 {\"city\":\"Paris\"} []",
                "0 call 0 get_weather {\"city\":\"Paris\"}",
                "0 start 1 get_time [6]",
                "0 args 1 {} []",
                "0 call 1 get_time {}",
                "0 text '' [7]",
                "0 finish TOOL_CALLS"), sink.events);
    }

    @Test
    void withoutParallelCallsTheSecondIsDroppedAndItsTokensStillReported() {
        SplitRecorder sink = new SplitRecorder();
        ToolCallSplitter splitter = new ToolCallSplitter(ToolCallFormat.HERMES, false, 1, sink);

        splitter.onText(0, "<tool_call>{\"name\": \"a\"}</tool_call>", new long[]{1}, List.of());
        splitter.onText(0, "<tool_call>{\"name\": \"b\"}</tool_call>", new long[]{2}, List.of());
        splitter.onFinish(0, ChoiceFinish.STOP);

        assertEquals(List.of("0 start 0 a [1]", "0 args 0 {} []", "0 call 0 a {}", "0 text '' [2]", "0 finish TOOL_CALLS"),
                sink.events);
    }

    @Test
    void aMalformedOrCutCallIsContentAndKeepsTheFinish() {
        SplitRecorder sink = new SplitRecorder();
        ToolCallSplitter splitter = new ToolCallSplitter(ToolCallFormat.HERMES, true, 2, sink);

        splitter.onText(0, "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }}</tool_call>", new long[]{1}, List.of());
        splitter.onText(1, "<tool_call>{\"name\": \"a\", \"argu", new long[]{2}, List.of());
        splitter.onFinish(0, ChoiceFinish.STOP);
        splitter.onFinish(1, ChoiceFinish.LENGTH);

        assertEquals(List.of(
                "0 text '<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }}</tool_call>' [1]",
                "0 finish STOP",
                "1 text '<tool_call>{\"name\": \"a\", \"argu' [2]",
                "1 finish LENGTH"), sink.events);
    }

    @Test
    void aCallCutByTheLengthLimitAfterAnotherKeepsTheLengthFinish() {
        SplitRecorder sink = new SplitRecorder();
        ToolCallSplitter splitter = new ToolCallSplitter(ToolCallFormat.LLAMA3_JSON, true, 1, sink);

        splitter.onText(0, "{\"name\": \"a\", \"parameters\": {\"n\": 1}}; {\"name\"", new long[]{1, 2}, List.of());
        splitter.onFinish(0, ChoiceFinish.LENGTH);

        assertEquals(List.of("0 start 0 a [1, 2]", "0 args 0 {\"n\":1} []", "0 call 0 a {\"n\":1}", "0 text '; {\"name\"' []",
                "0 finish LENGTH"), sink.events);
    }

    @Test
    void argumentsGoOutPieceByPieceWithTheirTokensAndADroppedCallsTokensTravelOn() {
        SplitRecorder sink = new SplitRecorder();
        ToolCallSplitter splitter = new ToolCallSplitter(ToolCallFormat.HERMES, false, 1, sink);

        splitter.onText(0, "<tool_call>{\"name\": \"send\", \"arguments\": ", new long[]{1}, List.of());
        splitter.onText(0, "{\"body\": \"Dear ", new long[]{2}, List.of());
        splitter.onText(0, "Ann\"}}</tool", new long[]{3}, List.of());
        splitter.onText(0, "_call><tool_call>{\"name\": \"b\", \"arguments\": {\"x\"", new long[]{4}, List.of());
        splitter.onText(0, ": 1}}</tool_call> after", new long[]{5}, List.of());
        splitter.onFinish(0, ChoiceFinish.STOP);

        assertEquals(List.of(
                "0 start 0 send [1, 2]",
                "0 args 0 {\"body\":\"Dear  []",
                "0 args 0 Ann\"} [3, 4]",
                "0 call 0 send {\"body\":\"Dear Ann\"}",
                "0 text ' after' [5]",
                "0 finish TOOL_CALLS"), sink.events);
    }

    @Test
    void aCallThatBreaksAfterItsAnnouncementIsContentAndFinishesAsAnAnswer() {
        SplitRecorder sink = new SplitRecorder();
        ToolCallSplitter splitter = new ToolCallSplitter(ToolCallFormat.HERMES, true, 1, sink);

        splitter.onText(0, "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": ", new long[]{1}, List.of());
        splitter.onText(0, "1,}}</tool_call>", new long[]{2}, List.of());
        splitter.onFinish(0, ChoiceFinish.STOP);

        assertEquals(List.of(
                "0 start 0 f [1]",
                "0 args 0 {\"a\": []",
                "0 text '<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1,}}</tool_call>' [2]",
                "0 finish STOP"), sink.events);
    }

    @Test
    void chatChoicesCarryTheCallsInOpenAisShape() {
        ResponseShape.Chat chat = new ResponseShape.Chat();
        ToolCall call = new ToolCall("call_abc", "get_weather", "{\"city\":\"Paris\"}");

        JsonNode silent = chat.wholeChoice(0, "\n", "", List.of(call), new long[0], null, ChoiceFinish.TOOL_CALLS).get("message");
        JsonNode spoken = chat.wholeChoice(0, "Checking. ", "", List.of(call), new long[0], null, ChoiceFinish.TOOL_CALLS);
        JsonNode plain = chat.wholeChoice(0, "", "", List.of(), new long[0], null, ChoiceFinish.STOP).get("message");
        JsonNode start = chat.toolCallStartChoice(2, 1, "call_abc", "get_weather", null);
        JsonNode piece = chat.toolCallArgumentsChoice(2, 1, "{\"city\":", null);

        assertTrue(silent.get("content").isNull(), silent.toString());
        assertEquals("[{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                + "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]", silent.get("tool_calls").toString());
        assertEquals("Checking. ", spoken.get("message").get("content").asText());
        assertEquals("tool_calls", spoken.get("finish_reason").asText());
        assertEquals("", plain.get("content").asText());
        assertTrue(!plain.has("tool_calls"), plain.toString());
        assertEquals(2, start.get("index").asInt());
        assertEquals("{\"tool_calls\":[{\"index\":1,\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":"
                + "\"get_weather\",\"arguments\":\"\"}}]}", start.get("delta").toString());
        assertTrue(start.get("finish_reason").isNull());
        assertEquals("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}",
                piece.get("delta").toString());
    }
}
