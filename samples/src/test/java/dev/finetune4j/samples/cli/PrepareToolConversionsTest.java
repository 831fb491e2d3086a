package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code finetune4j prepare} with {@code output_schema} on tool conversations: ShareGPT function_call/observation rows
 * written as OpenAI messages and OpenAI rows as ShareGPT, after the steps (PII inside the arguments), bad rows
 * quarantined, rows the target cannot hold dropped with the reason.
 */
class PrepareToolConversionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A glaive-style row (tools as JSON text) with an e-mail address in the call's arguments. */
    private static final String SHAREGPT_ROW = "{\"conversations\": [{\"from\": \"human\", \"value\": \"Find my account.\"}, "
            + "{\"from\": \"function_call\", \"value\": \"{\\\"name\\\": \\\"find_account\\\", \\\"arguments\\\": "
            + "{\\\"email\\\": \\\"li.si@example.com\\\"}}\"}, {\"from\": \"observation\", \"value\": \"{\\\"id\\\": 7}\"}, "
            + "{\"from\": \"gpt\", \"value\": \"Found it: number 7.\"}], \"tools\": \"[{\\\"name\\\": \\\"find_account\\\", "
            + "\\\"parameters\\\": {\\\"type\\\": \\\"object\\\"}}]\"}";
    private static final String OPENAI_ROW = "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris?\"}, "
            + "{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"id\": \"w1\", \"type\": \"function\", "
            + "\"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]}, "
            + "{\"role\": \"tool\", \"content\": \"18\", \"tool_call_id\": \"w1\"}, "
            + "{\"role\": \"assistant\", \"content\": \"18 °C.\"}]}";

    @TempDir
    Path dir;

    @Test
    void shareGptToolRowsAreWrittenAsOpenAiMessagesAfterTheSteps() throws Exception {
        List<JsonNode> rows = prepare(List.of(SHAREGPT_ROW, "{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}, "
                + "{\"from\": \"function_call\", \"value\": \"find_account()\"}]}"), "openai", "pii: {strategy: placeholder}\n");
        assertEquals(1, rows.size());
        assertEquals(JSON.readTree("""
                {"messages": [{"role": "user", "content": "Find my account."},
                  {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "type": "function",
                    "function": {"name": "find_account", "arguments": "{\\"email\\": \\"[EMAIL]\\"}"}}]},
                  {"role": "tool", "content": "{\\"id\\": 7}", "tool_call_id": "call_0"},
                  {"role": "assistant", "content": "Found it: number 7."}],
                 "tools": [{"type": "function", "function": {"name": "find_account", "parameters": {"type": "object"}}}]}"""),
                rows.getFirst());
        String quarantine = Files.readString(dir.resolve("out/quarantine.jsonl"));
        assertTrue(quarantine.contains("conversations[1].value (function_call) is not JSON"), quarantine);
    }

    @Test
    void openAiToolRowsAreWrittenAsShareGptAndRowsATargetCannotHoldAreDroppedWithTheReason() throws Exception {
        List<JsonNode> rows = prepare(List.of(OPENAI_ROW), "sharegpt", "");
        assertEquals(JSON.readTree("""
                {"conversations": [{"from": "human", "value": "Weather in Paris?"},
                  {"from": "function_call", "value": "{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}, \\"id\\": \\"w1\\"}"},
                  {"from": "observation", "value": "18"}, {"from": "gpt", "value": "18 °C."}]}"""), rows.getFirst());

        List<JsonNode> none = prepare(List.of(OPENAI_ROW, "{\"instruction\": \"Hi\", \"output\": \"Hello\"}"), "alpaca", "");
        assertEquals(List.of(JSON.readTree("{\"instruction\": \"Hi\", \"output\": \"Hello\"}")), none,
                "the tool row dropped, the alpaca row (already the target) kept as written");
        String manifest = Files.readString(dir.resolve("out/manifest.json"));
        assertTrue(manifest.contains("cannot convert to ALPACA: it has tools, tool calls or tool results"), manifest);
    }

    /**
     * Runs prepare over {@code lines} with {@code output_schema} and {@code extra} config, returning data.jsonl's rows
     * without their provenance ({@code _meta}).
     */
    private List<JsonNode> prepare(List<String> lines, String outputSchema, String extra) throws Exception {
        Files.write(dir.resolve("raw.jsonl"), lines);
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\noutput_schema: " + outputSchema
                + "\n" + extra);
        CliTestSupport.Run r = CliTestSupport.run("prepare", "--config", dir.resolve("prepare.yaml").toString(),
                "--overwrite");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        return Files.readAllLines(dir.resolve("out/data.jsonl")).stream().map(line -> {
            try {
                return (JsonNode) ((ObjectNode) JSON.readTree(line)).without("_meta");
            } catch (Exception e) {
                throw new IllegalStateException(line, e);
            }
        }).toList();
    }
}
