package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenAI's chat JSON read into turns and tools and written back; what each malformed part is told. */
class ChatJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void readsAConversationWithToolCallsAndResults() throws Exception {
        List<ChatMessage> turns = ChatJson.messages(json("""
                [{"role": "developer", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}]},
                 {"role": "user", "content": "Weather in Paris?"},
                 {"role": "assistant", "content": null, "tool_calls": [
                   {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}},
                   {"type": "function", "function": {"name": "get_time", "arguments": {"zone": "CET"}}}]},
                 {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
                 {"role": "assistant", "content": "It is 18 C."}]"""), "messages");
        assertEquals(List.of(
                ChatMessage.system("Be brief."),
                ChatMessage.user("Weather in Paris?"),
                ChatMessage.assistant(List.of(new ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}"),
                        ToolCall.of("get_time", "{\"zone\":\"CET\"}"))),
                ChatMessage.tool("call_1", "18 C"),
                ChatMessage.assistant("It is 18 C.")), turns);
    }

    @Test
    void writesWhatItReads() throws Exception {
        List<ChatMessage> turns = List.of(ChatMessage.user("hi"),
                new ChatMessage("assistant", "Checking.", List.of(new ToolCall("c1", "f", "{\"a\": [1, 2]}")), null),
                ChatMessage.tool(null, "ok"));
        var array = JSON.createArrayNode();
        turns.forEach(t -> array.add(ChatJson.toJson(t)));
        assertEquals(turns, ChatJson.messages(array, "messages"));
        assertEquals(json("{\"role\": \"assistant\", \"content\": \"Checking.\", \"tool_calls\": [{\"id\": \"c1\", "
                + "\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\": [1, 2]}\"}}]}"),
                ChatJson.toJson(turns.get(1)));
        ToolDefinition tool = new ToolDefinition("f", "does f", "{\"type\": \"object\", \"properties\": {}}");
        JsonNode written = ChatJson.toJson(tool);
        assertEquals(json("{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"does f\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {}}}}"), written);
        ToolDefinition read = ChatJson.tool(written, "tools[0]");
        assertEquals(List.of(tool.name(), tool.description(), tool.parametersSchema()),
                List.of(read.name(), read.description(), read.parametersSchema()));
    }

    @Test
    void templatesSeeArgumentsAsAnObjectWhetherTheyCameAsTextOrAsAnObject() throws Exception {
        JinjaChatTemplate t = JinjaChatTemplate.parse("test", "{% for m in messages %}{% for c in m.tool_calls %}"
                + "{{ c.function.name }}{{ c.function.arguments | tojson }}{{ c.function.arguments.city is defined }};"
                + "{% endfor %}{% endfor %}", Map.of());
        ChatMessage asText = ChatJson.message(json("{\"role\": \"assistant\", \"tool_calls\": [{\"function\": "
                + "{\"name\": \"w\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\", \\\"days\\\": 2}\"}}]}"), "m");
        ChatMessage asObject = ChatJson.message(json("{\"role\": \"assistant\", \"tool_calls\": [{\"function\": "
                + "{\"name\": \"w\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}}]}"), "m");
        assertEquals("w{\"city\": \"Paris\", \"days\": 2}True;", t.render(List.of(asText), false));
        assertEquals(t.render(List.of(asText), false), t.render(List.of(asObject), false));
        ChatMessage malformed = ChatMessage.assistant(List.of(ToolCall.of("w", "{\"city\": ")));
        assertEquals("w\"{\\\"city\\\": \"False;", t.render(List.of(malformed), false));
    }

    @Test
    void namesThePathOfWhatIsWrong() throws Exception {
        assertMessage("messages[0].tool_calls must be an array on an assistant message",
                () -> ChatJson.messages(json("[{\"role\": \"user\", \"content\": \"x\", \"tool_calls\": []}]"), "messages"));
        assertMessage("messages[0].tool_calls[1].function.name must be a non-empty string, got nothing",
                () -> ChatJson.messages(json("[{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"name\": \"a\"}},"
                        + " {\"function\": {\"arguments\": \"{}\"}}]}]"), "messages"));
        assertMessage("messages[0].role must be system, developer, user, assistant or tool, got string \"function\"",
                () -> ChatJson.messages(json("[{\"role\": \"function\", \"content\": \"x\"}]"), "messages"));
        assertMessage("messages[0].content must be a string or an array of text parts, got nothing",
                () -> ChatJson.messages(json("[{\"role\": \"user\"}]"), "messages"));
        assertMessage("tools[0].type must be \"function\", got string \"retrieval\"",
                () -> ChatJson.tools(json("[{\"type\": \"retrieval\", \"function\": {\"name\": \"r\"}}]"), "tools"));
        assertMessage("tools[1].function.parameters must be a JSON Schema object, got an array",
                () -> ChatJson.tools(json("[{\"type\": \"function\", \"function\": {\"name\": \"a\"}},"
                        + " {\"type\": \"function\", \"function\": {\"name\": \"b\", \"parameters\": []}}]"), "tools"));
        assertMessage("messages[0].tool_call_id must be a string, got number 7",
                () -> ChatJson.messages(json("[{\"role\": \"tool\", \"content\": \"x\", \"tool_call_id\": 7}]"), "messages"));
        assertEquals(List.of(), ChatJson.tools(null, "tools"));
    }

    @Test
    void turnsRefuseCallsAndIdsThatDoNotFitTheirRole() {
        assertMessage("a user turn cannot make tool calls",
                () -> new ChatMessage("user", "x", List.of(ToolCall.of("f", "{}")), null));
        assertMessage("a assistant turn cannot answer tool call 'c1'",
                () -> new ChatMessage("assistant", "x", List.of(), "c1"));
        assertMessage("unknown chat role 'function'; use system, user, assistant or tool",
                () -> new ChatMessage("function", "x"));
        assertMessage("needs at least one tool call", () -> ChatMessage.assistant(List.of()));
        assertMessage("tool 'f': parameters must be a JSON Schema object, got array",
                () -> new ToolDefinition("f", null, "[1]"));
        assertMessage("tool 'f': parameters is not valid JSON", () -> new ToolDefinition("f", null, "{"));
    }

    @Test
    void builtInFormatsRefuseToolsInsteadOfDroppingThem() {
        List<ChatMessage> withCall = List.of(ChatMessage.user("x"), ChatMessage.assistant(List.of(ToolCall.of("f", "{}"))));
        assertMessage("the built-in chat format chatml has no way to write tools",
                () -> ChatTemplate.CHATML.render(withCall, false));
        assertMessage("the built-in chat format llama3 has no way to write tools",
                () -> ChatTemplate.LLAMA3.render(List.of(ChatMessage.user("x")),
                        List.of(new ToolDefinition("f", null, null)), true));
        assertEquals(ChatTemplate.CHATML.render(List.of(ChatMessage.user("x")), true),
                ChatTemplate.CHATML.render(List.of(ChatMessage.user("x")), List.of(), true));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
