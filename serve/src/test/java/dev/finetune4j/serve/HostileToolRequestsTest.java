package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool requests an attacker or a careless client could send: whatever is wrong with them is a 400 naming the field,
 * never a 500.
 */
class HostileToolRequestsTest {
    private static final String STRING_ARGUMENT = "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}}";
    private static final String REQUIRED = "\"required\"";
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.withToolsTemplate(b -> b);
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void toolsThatFitAloneButNotTogetherAreA400ForRequired() throws Exception {
        // 2,600 tools of 4 subschemas each: each compiles, the array of calls of them all is past 10,000 subschemas
        StringBuilder many = new StringBuilder("[");
        for (int i = 0; i < 2_600; i++) {
            many.append(i == 0 ? "" : ", ").append(tool("f" + i, STRING_ARGUMENT));
        }
        JsonNode error = ServerFixture.assertError(fixture.post("/v1/chat/completions", request(many + "]", REQUIRED)),
                400, "invalid_value", "tools");
        assertTrue(error.get("message").asText().contains("the 2600 tools together cannot be forced"), error.toString());

        // arguments 31 objects deep fit the grammar's depth limit of 32; the call object and the array make it 33
        String deep = "{\"type\": \"object\", \"properties\": {\"a\": ".repeat(31) + "{\"type\": \"string\"}"
                + "}, \"required\": [\"a\"]}".repeat(31);
        String oneDeepTool = "[" + tool("deep", deep) + "]";
        HttpResponse<String> named = fixture.post("/v1/chat/completions", request(oneDeepTool,
                "{\"type\": \"function\", \"function\": {\"name\": \"deep\"}}"));
        assertEquals(200, named.statusCode(), named.body());
        error = ServerFixture.assertError(fixture.post("/v1/chat/completions", request(oneDeepTool, REQUIRED)),
                400, "invalid_value", "tools");
        assertTrue(error.get("message").asText().contains("depth limit of 32"), error.toString());
    }

    /** A name with a quote would break the JSON that Qwen's template writes around it; OpenAI refuses such names too. */
    @Test
    void functionNamesOutsideOpenAisPatternAreA400() throws Exception {
        for (String name : new String[] {"get\\\"weather", "a\\nb", "x".repeat(65), "get.weather"}) {
            JsonNode error = ServerFixture.assertError(fixture.post("/v1/chat/completions",
                    request("[" + tool(name, STRING_ARGUMENT) + "]", "\"auto\"")), 400, "invalid_value", "tools");
            assertTrue(error.get("message").asText().contains("tools[0].function.name must be 1 to 64 letters"), error.toString());
        }
        HttpResponse<String> fine = fixture.post("/v1/chat/completions",
                request("[" + tool("get_weather-2", STRING_ARGUMENT) + "]", REQUIRED));
        assertEquals(200, fine.statusCode(), fine.body());
    }

    private static String tool(String name, String parameters) {
        return "{\"type\": \"function\", \"function\": {\"name\": \"" + name + "\", \"parameters\": " + parameters + "}}";
    }

    private static String request(String tools, String toolChoice) {
        return "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"tools\": " + tools
                + ", \"tool_choice\": " + toolChoice + ", \"max_tokens\": 1}";
    }
}
