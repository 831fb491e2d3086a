package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.finetune4j.core.generate.ReferenceLogprobs;
import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code logprobs}, {@code top_logprobs} and {@code logit_bias} over loopback: OpenAI's response shapes for chat,
 * completions and their streams, the values against a log-softmax in double of the logits a separate copy of the
 * model computes for the same tokens, and the bias against those logits.
 */
class LogprobsRouteTest {
    private static final long[] PROMPT = {72, 101, 108, 108, 111, 32, 119};
    /** The server decodes with a KV cache; the reference recomputes every position in one pass. */
    private static final double TOLERANCE = 1e-4;
    private static ServerFixture fixture;
    private static LanguageModel reference;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
        reference = AutoModel.loadCausalLM(ServerFixture.modelDir());
    }

    @AfterAll
    static void stop() {
        fixture.close();
        reference.close();
    }

    private static JsonNode post(String path, String json) throws Exception {
        HttpResponse<String> r = fixture.post(path, json);
        assertEquals(200, r.statusCode(), r.body());
        return ServerFixture.json(r);
    }

    private static long[] ids(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static String tokenText(long id) {
        return fixture.tokenizer.decode(new long[]{id});
    }

    @Test
    void completionsLogprobsHaveTheLegacyShapeAndTheModelsValues() throws Exception {
        JsonNode body = post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": " + Arrays.toString(PROMPT)
                + ", \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": 3}");
        JsonNode choice = body.get("choices").get(0);
        long[] tokens = ids(choice.get("token_ids"));
        JsonNode lp = choice.get("logprobs");
        assertEquals(List.of("tokens", "token_logprobs", "top_logprobs", "text_offset"), fieldNames(lp));
        assertEquals(tokens.length, lp.get("tokens").size());
        assertTrue(tokens.length > 0);
        int offset = 0;
        for (int k = 0; k < tokens.length; k++) {
            double[] expected = ReferenceLogprobs.next(reference, ReferenceLogprobs.concat(PROMPT, tokens, k));
            String token = lp.get("tokens").get(k).asText();
            assertEquals(tokenText(tokens[k]), token);
            assertEquals(expected[(int) tokens[k]], lp.get("token_logprobs").get(k).asDouble(), TOLERANCE, "token " + k);
            assertEquals(offset, lp.get("text_offset").get(k).asInt());
            offset += token.codePointCount(0, token.length());
            JsonNode top = lp.get("top_logprobs").get(k);
            assertTrue(top.size() >= 1 && top.size() <= 4, top.toString());
            Integer[] order = ReferenceLogprobs.byDescending(expected);
            assertEquals(order[0].longValue(), tokens[k], "greedy takes the most likely token");
            assertEquals(lp.get("token_logprobs").get(k).asDouble(), top.get(token).asDouble(), 0);
            for (int r = 0; r < 3; r++) {
                String key = tokenText(order[r]);
                assertTrue(top.has(key), "rank " + r + " '" + key + "' in " + top);
            }
        }
        JsonNode noAlternatives = post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": " + Arrays.toString(PROMPT)
                + ", \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": 0}").get("choices").get(0).get("logprobs");
        for (JsonNode top : noAlternatives.get("top_logprobs")) {
            assertEquals(1, top.size(), "logprobs 0: only the chosen token, " + top);
        }
        assertEquals(lp.get("token_logprobs"), noAlternatives.get("token_logprobs"));
    }

    /**
     * A stop string that cuts the text to nothing still leaves its tokens counted in usage, and each of them keeps its
     * log-probability (before, tokens whose text the cut removed were reported in usage only).
     */
    @Test
    void tokensWhoseTextAStopStringCutKeepTheirLogprobs() throws Exception {
        String request = "{\"model\": \"tiny-chat\", \"prompt\": " + Arrays.toString(PROMPT)
                + ", \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": 1";
        JsonNode free = post("/v1/completions", request + "}").get("choices").get(0);
        String text = free.get("text").asText();
        assertFalse(text.isEmpty(), "the greedy answer has text to stop at");
        String stop = text.substring(0, text.offsetByCodePoints(0, 1));
        JsonNode body = post("/v1/completions", request + ", \"stop\": " + TextNode.valueOf(stop).toString() + "}");
        JsonNode choice = body.get("choices").get(0);
        assertEquals("", choice.get("text").asText());
        assertEquals("stop", choice.get("finish_reason").asText());
        int generated = body.get("usage").get("completion_tokens").asInt();
        assertTrue(generated >= 1);
        JsonNode logprobs = choice.get("logprobs").get("token_logprobs");
        assertEquals(generated, logprobs.size(), "one log-probability per generated token");
        for (int k = 0; k < generated; k++) {
            assertEquals(free.get("logprobs").get("token_logprobs").get(k).asDouble(), logprobs.get(k).asDouble(), 0,
                    "token " + k + " as in the answer without a stop string");
        }
    }

    @Test
    void chatLogprobsHaveTheContentShapeSortedAlternativesAndBytes() throws Exception {
        String request = "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"max_tokens\": 6, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 4}";
        JsonNode choice = post("/v1/chat/completions", request).get("choices").get(0);
        JsonNode logprobs = choice.get("logprobs");
        assertEquals(List.of("content", "refusal"), fieldNames(logprobs));
        assertTrue(logprobs.get("refusal").isNull());
        JsonNode content = logprobs.get("content");
        assertTrue(content.size() > 0);
        StringBuilder joined = new StringBuilder();
        for (JsonNode entry : content) {
            assertEquals(List.of("token", "logprob", "bytes", "top_logprobs"), fieldNames(entry));
            assertTrue(entry.get("logprob").asDouble() <= 0);
            assertBytesOf(entry);
            JsonNode top = entry.get("top_logprobs");
            assertEquals(4, top.size());
            assertEquals(entry.get("token").asText(), top.get(0).get("token").asText(), "greedy: the top token is chosen");
            assertEquals(entry.get("logprob").asDouble(), top.get(0).get("logprob").asDouble(), 0);
            for (int r = 0; r < top.size(); r++) {
                assertEquals(List.of("token", "logprob", "bytes"), fieldNames(top.get(r)));
                assertBytesOf(top.get(r));
                if (r > 0) {
                    assertTrue(top.get(r).get("logprob").asDouble() <= top.get(r - 1).get("logprob").asDouble());
                }
            }
            joined.append(entry.get("token").asText());
        }
        assertEquals(choice.get("message").get("content").asText(), joined.toString(),
                "the content's tokens spell the message");
        JsonNode without = post("/v1/chat/completions", request.replace(", \"logprobs\": true, \"top_logprobs\": 4", ""));
        assertTrue(without.get("choices").get(0).get("logprobs").isNull());
        JsonNode noTop = post("/v1/chat/completions", request.replace(", \"top_logprobs\": 4", ""))
                .get("choices").get(0).get("logprobs").get("content");
        assertEquals(content.size(), noTop.size());
        for (int k = 0; k < content.size(); k++) {
            assertEquals(0, noTop.get(k).get("top_logprobs").size());
            assertEquals(content.get(k).get("logprob"), noTop.get(k).get("logprob"));
        }
    }

    /**
     * {@code bytes} are the token's UTF-8; a token that holds part of a character shows U+FFFD and its own bytes,
     * which are not UTF-8 alone.
     */
    private static void assertBytesOf(JsonNode entry) {
        String token = entry.get("token").asText();
        byte[] bytes = bytes(entry);
        if (token.indexOf('\uFFFD') >= 0) {
            assertTrue(bytes.length > 0 && !isUtf8(bytes), entry.toString());
            return;
        }
        assertArrayEquals(token.getBytes(StandardCharsets.UTF_8), bytes, entry.toString());
    }

    @Test
    void aTokenHoldingPartOfACharacterGivesItsOwnBytes() throws Exception {
        TokenBytes vocab = TokenBytes.of(fixture.tokenizer);
        int partial = -1;
        for (int id = 0; id < vocab.size() && partial < 0; id++) {
            byte[] b = vocab.bytes(id);
            if (!vocab.isSpecial(id) && b != null && b.length == 1 && (b[0] & 0xFF) >= 0xE0) {
                partial = id; // the lead byte of a three- or four-byte character
            }
        }
        assertTrue(partial >= 0, "the byte-level vocabulary has single-byte tokens");
        JsonNode entry = post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"Hi\"}], \"max_tokens\": 1, \"temperature\": 0, \"logprobs\": true, "
                + "\"logit_bias\": {\"" + partial + "\": 100}}").get("choices").get(0).get("logprobs").get("content").get(0);
        assertEquals("\uFFFD", entry.get("token").asText());
        assertArrayEquals(vocab.bytes(partial), bytes(entry));
    }

    private static byte[] bytes(JsonNode entry) {
        JsonNode array = entry.get("bytes");
        assertTrue(array.isArray(), entry.toString());
        byte[] out = new byte[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) array.get(i).asInt();
        }
        return out;
    }

    private static boolean isUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    @Test
    void streamedChunksCarryTheLogprobsOfTheirTokens() throws Exception {
        String chat = "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"max_tokens\": 8, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2";
        JsonNode whole = post("/v1/chat/completions", chat + "}").get("choices").get(0).get("logprobs").get("content");
        List<JsonNode> streamed = new ArrayList<>();
        for (String event : fixture.postStreaming("/v1/chat/completions", chat + ", \"stream\": true}")) {
            if (event.equals("[DONE]")) {
                continue;
            }
            JsonNode c = ServerFixture.JSON.readTree(event).get("choices").get(0);
            JsonNode delta = c.get("delta");
            if (delta.has("content") && !delta.get("content").asText().isEmpty()) {
                c.get("logprobs").get("content").forEach(streamed::add);
            } else {
                assertTrue(c.get("logprobs").isNull(), "opening and finish chunks carry none: " + c);
            }
        }
        assertEquals(whole.size(), streamed.size());
        for (int k = 0; k < whole.size(); k++) {
            assertEquals(whole.get(k), streamed.get(k), "token " + k);
        }

        String text = "{\"model\": \"tiny-chat\", \"prompt\": " + Arrays.toString(PROMPT)
                + ", \"max_tokens\": 8, \"temperature\": 0, \"logprobs\": 2";
        JsonNode wholeText = post("/v1/completions", text + "}").get("choices").get(0).get("logprobs");
        List<JsonNode> offsets = new ArrayList<>();
        List<JsonNode> tokens = new ArrayList<>();
        List<JsonNode> values = new ArrayList<>();
        for (String event : fixture.postStreaming("/v1/completions", text + ", \"stream\": true}")) {
            if (event.equals("[DONE]")) {
                continue;
            }
            JsonNode c = ServerFixture.JSON.readTree(event).get("choices").get(0);
            if (!c.get("finish_reason").isNull()) {
                continue;
            }
            JsonNode lp = c.get("logprobs");
            lp.get("text_offset").forEach(offsets::add);
            lp.get("tokens").forEach(tokens::add);
            lp.get("token_logprobs").forEach(values::add);
            assertEquals(c.get("token_ids").size(), lp.get("tokens").size(), "a chunk's logprobs are its tokens': " + c);
        }
        assertEquals(list(wholeText.get("text_offset")), offsets, "offsets run on across chunks");
        assertEquals(list(wholeText.get("tokens")), tokens);
        assertEquals(list(wholeText.get("token_logprobs")), values);
    }

    /** With n choices in one stream, each choice's text_offset starts at 0 and counts only its own tokens. */
    @Test
    void eachStreamedChoiceCountsItsOwnTextOffsets() throws Exception {
        List<List<String>> tokens = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<Integer>> offsets = List.of(new ArrayList<>(), new ArrayList<>());
        for (String event : fixture.postStreaming("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": "
                + Arrays.toString(PROMPT) + ", \"max_tokens\": 6, \"temperature\": 1, \"seed\": 5, \"n\": 2, "
                + "\"logprobs\": 1, \"stream\": true}")) {
            if (event.equals("[DONE]")) {
                continue;
            }
            JsonNode c = ServerFixture.JSON.readTree(event).get("choices").get(0);
            if (c.get("logprobs").isNull()) {
                continue;
            }
            int index = c.get("index").asInt();
            c.get("logprobs").get("tokens").forEach(t -> tokens.get(index).add(t.asText()));
            c.get("logprobs").get("text_offset").forEach(o -> offsets.get(index).add(o.asInt()));
        }
        for (int choice = 0; choice < 2; choice++) {
            assertTrue(!tokens.get(choice).isEmpty());
            int expected = 0;
            for (int k = 0; k < tokens.get(choice).size(); k++) {
                assertEquals(expected, offsets.get(choice).get(k), "choice " + choice + " token " + k);
                expected += tokens.get(choice).get(k).codePointCount(0, tokens.get(choice).get(k).length());
            }
        }
    }

    @Test
    void logitBiasBansTheGreedyTokenAndForcesAnother() throws Exception {
        double[] first = ReferenceLogprobs.next(reference, PROMPT);
        Integer[] order = ReferenceLogprobs.byDescending(first);
        String settings = "\"model\": \"tiny-chat\", \"prompt\": " + Arrays.toString(PROMPT) + ", \"temperature\": 0";
        JsonNode banned = post("/v1/completions", "{" + settings + ", \"max_tokens\": 1, \"logprobs\": 1, \"logit_bias\": {\""
                + order[0] + "\": -100}}").get("choices").get(0);
        assertEquals(order[1].longValue(), banned.get("token_ids").get(0).asLong(), "the runner-up of the model's logits");
        assertEquals(first[order[1]], banned.get("logprobs").get("token_logprobs").get(0).asDouble(), TOLERANCE,
                "the log-probability is the model's, before the bias");
        long forced = order[order.length - 1];
        JsonNode forcedChoice = post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"Hi\"}], \"max_tokens\": 4, \"temperature\": 1, \"seed\": 3, \"logit_bias\": {\"" + forced
                + "\": 100}}").get("choices").get(0);
        assertEquals(tokenText(forced).repeat(4), forcedChoice.get("message").get("content").asText());
        assertNotEquals(order[0].longValue(), forced);
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            names.add(it.next().getKey());
        }
        return names;
    }

    private static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }
}
