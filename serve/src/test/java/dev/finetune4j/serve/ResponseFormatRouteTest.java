package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.generate.json.JsonGrammar;
import dev.finetune4j.core.generate.json.JsonOutput;
import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OpenAI's {@code response_format} over loopback: a JSON schema's answer is what core's {@link Generator} writes
 * under the same constraint, is a value of the schema, and ends with {@code "finish_reason": "stop"}; schemas and
 * formats the server cannot honour get a 400 naming where.
 */
class ResponseFormatRouteTest {
    private static final String SCHEMA = "{\"type\": \"object\", \"properties\": {\"answer\": {\"enum\": [\"yes\", \"no\"]}, "
            + "\"score\": {\"type\": \"integer\"}}, \"required\": [\"answer\", \"score\"], \"additionalProperties\": false}";
    private static final String FORMAT = "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"verdict\", \"strict\": true, "
            + "\"schema\": " + SCHEMA + "}}";
    private static ServerFixture fixture;
    private static Map<Long, Float> noWhitespace;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
        // the random model favours whitespace, which JSON allows between tokens: a bias keeps its answer short
        TokenBytes vocab = TokenBytes.of(fixture.tokenizer);
        noWhitespace = new LinkedHashMap<>();
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytes(id);
            if (b != null && b.length > 0 && new String(b, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
                noWhitespace.put((long) id, -100f);
            }
        }
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void aJsonSchemaAnswerIsTheGeneratorsUnderTheSameConstraintAndAValueOfTheSchema() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"Is it on time?\"}], \"max_tokens\": 120, \"temperature\": 0, "
                + "\"logit_bias\": " + biasJson() + ", \"response_format\": " + FORMAT + "}");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = ServerFixture.json(r).get("choices").get(0);
        String content = choice.get("message").get("content").asText();
        assertEquals(reference(), content);
        assertEquals("stop", choice.get("finish_reason").asText(), content);
        JsonNode value = ServerFixture.JSON.readTree(content);
        List<String> names = new ArrayList<>();
        value.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("answer", "score"), names);
        assertTrue(Set.of("yes", "no").contains(value.get("answer").asText()), content);
        assertTrue(value.get("score").isIntegralNumber(), content);
    }

    @Test
    void jsonObjectModeGivesAnObjectOnTheCompletionsRouteToo() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"Answer:\", "
                + "\"max_tokens\": 200, \"temperature\": 0, \"logit_bias\": " + biasJson()
                + ", \"response_format\": {\"type\": \"json_object\"}}");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = ServerFixture.json(r).get("choices").get(0);
        String text = choice.get("text").asText();
        assertEquals("stop", choice.get("finish_reason").asText(), text);
        assertTrue(ServerFixture.JSON.readTree(text).isObject(), text);
    }

    @Test
    void anUnsupportedKeywordIsA400NamingItsPointer() throws Exception {
        String format = FORMAT.replace("{\"type\": \"integer\"}", "{\"type\": \"integer\", \"minimum\": 0}");
        HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"Hi\"}], \"response_format\": " + format + "}");

        JsonNode error = ServerFixture.assertError(r, 400, "invalid_value", "response_format");
        assertTrue(error.get("message").asText().contains("/json_schema/schema/properties/score/minimum"),
                error.get("message").asText());
    }

    @Test
    void anUnknownFormatTypeIsA400() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"Hi\"}], \"response_format\": {\"type\": \"yaml\"}}");

        JsonNode error = ServerFixture.assertError(r, 400, "invalid_value", "response_format");
        assertTrue(error.get("message").asText().contains("json_schema"), error.get("message").asText());
    }

    @Test
    void jsonModeWithoutATokenizerIsA400() throws Exception {
        try (ServerFixture idsOnly = new ServerFixture(b -> b, false)) {
            HttpResponse<String> r = idsOnly.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": [1, 2, 3], "
                    + "\"response_format\": {\"type\": \"json_object\"}}");

            JsonNode error = ServerFixture.assertError(r, 400, "invalid_value", "response_format");
            assertTrue(error.get("message").asText().contains("tokenizer"), error.get("message").asText());
        }
    }

    /** Core's Generator on a fresh copy of the model, greedy, under the schema, with the route's bias and stop token. */
    private static String reference() {
        long[] prompt = fixture.tokenizer.encodeChat(List.of(ChatMessage.user("Is it on time?")), true);
        long eos = fixture.tokenizer.eosTokenId().getAsLong();
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(120).logitBias(noWhitespace)
                .constraint(new JsonOutput(JsonGrammar.fromSchema(SCHEMA, true), TokenBytes.of(fixture.tokenizer)))
                .stopTokens(Set.of(eos)).build();
        try (LanguageModel copy = AutoModel.loadCausalLM(ServerFixture.modelDir())) {
            long[] out = Generator.generate(copy, prompt, cfg);
            long[] answer = Arrays.copyOfRange(out, prompt.length, out.length);
            assertEquals(eos, answer[answer.length - 1], "the reference ends with the end of sequence: " + fixture.tokenizer.decode(answer));
            return fixture.tokenizer.decode(Arrays.copyOf(answer, answer.length - 1));
        }
    }

    private static String biasJson() {
        ObjectNode bias = ServerFixture.JSON.createObjectNode();
        noWhitespace.forEach((id, b) -> bias.put(Long.toString(id), b));
        return bias.toString();
    }
}
