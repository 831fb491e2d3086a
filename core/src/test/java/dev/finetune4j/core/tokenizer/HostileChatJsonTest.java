package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Conversations a careless client sends: a tool result answering a call that was never made. */
class HostileChatJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CALL = """
            {"role": "assistant", "content": null, "tool_calls": [
              {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
              {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}""";

    @Test
    void aToolResultWhoseIdAnswersNoCallIsRefusedNamingTheIds() throws Exception {
        String messages = "[{\"role\": \"user\", \"content\": \"Hi\"}, " + CALL + ", "
                + "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"18 C\"}, "
                + "{\"role\": \"tool\", \"tool_call_id\": \"call_9\", \"content\": \"12:00\"}]";

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChatJson.messages(JSON.readTree(messages), "messages"));

        assertTrue(e.getMessage().startsWith("messages[3].tool_call_id 'call_9' answers no call"), e.getMessage());
        assertTrue(e.getMessage().contains("call_1, call_2"), e.getMessage());
    }

    @Test
    void resultsAreCheckedOnlyAgainstCallsThatHaveIds() throws Exception {
        String withoutIds = "[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"tool_calls\": [{\"type\": "
                + "\"function\", \"function\": {\"name\": \"f\"}}]}, {\"role\": \"tool\", \"tool_call_id\": \"x\", \"content\": \"1\"}]";
        String matching = "[{\"role\": \"user\", \"content\": \"Hi\"}, " + CALL + ", "
                + "{\"role\": \"tool\", \"tool_call_id\": \"call_2\", \"content\": \"12:00\"}, {\"role\": \"tool\", \"content\": \"18 C\"}]";

        assertEquals("x", ChatJson.messages(JSON.readTree(withoutIds), "messages").get(2).toolCallId());
        assertEquals("call_2", ChatJson.messages(JSON.readTree(matching), "messages").get(2).toolCallId());
    }
}
