package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceData;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JSON mode through the {@link Generator}: a random tiny model (vocabulary 256) read as bytes 0-254 plus an end
 * token 255 writes, under a schema, exactly a value of the schema and then ends (Jackson parses it; the assertions
 * check the schema by hand); sampled rows of one batch each write what they write alone.
 */
class JsonGenerationTest {
    private static final long END = 255;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SCHEMA = """
            {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}, "score": {"type": "integer"}},
             "required": ["answer", "score"], "additionalProperties": false}""";

    /** Ids 0-254 are the bytes themselves, 255 is a special end token. */
    private static TokenBytes bytes() {
        byte[][] bytes = new byte[256][];
        for (int b = 0; b < 255; b++) {
            bytes[b] = new byte[] {(byte) b};
        }
        BitSet special = new BitSet();
        special.set((int) END);
        return TokenBytes.of(bytes, special);
    }

    /**
     * The schema's JSON mode; the random model favours whitespace, which JSON allows between tokens (runs of up to 32
     * tabs), so a bias keeps its output compact enough to end within the limit.
     */
    private static GenerationConfig.Builder json(String schema) {
        return GenerationConfig.builder().maxNewTokens(100).stopTokens(Set.of(END))
                .logitBias(Map.of(9L, -100f, 10L, -100f, 13L, -100f, 32L, -100f))
                .constraint(new JsonOutput(JsonGrammar.fromSchema(schema, true), bytes()));
    }

    @Test
    void greedyOutputIsAValueOfTheSchemaThenTheEndToken() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            long[] prompt = {1, 72, 105};
            long[] out = Generator.generate(lm, prompt, json(SCHEMA).build());
            assertEquals(END, out[out.length - 1], "ended by the end token, not by the length limit");
            JsonNode value = JSON.readTree(text(out, prompt.length, out.length - 1));
            List<String> names = new ArrayList<>();
            value.fieldNames().forEachRemaining(names::add);
            assertEquals(List.of("answer", "score"), names, "strict mode writes the schema's properties in order");
            assertTrue(Set.of("yes", "no").contains(value.get("answer").asText()), value.toString());
            assertTrue(value.get("score").isIntegralNumber(), value.toString());
        }
    }

    @Test
    void sampledRowsOfABatchWriteWhatTheyWriteAloneAndEachIsValid() throws Exception {
        GenerationConfig cfg = json(SCHEMA).temperature(1.5f).seed(7).build();
        long[][] prompts = {{1, 72, 105}, {1, 40}};
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            long[][] batch = Generator.generate(lm, prompts, cfg);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(Generator.generate(lm, prompts[i], cfg), batch[i], "row " + i);
                long[] out = batch[i];
                assertEquals(END, out[out.length - 1]);
                JsonNode value = JSON.readTree(text(out, prompts[i].length, out.length - 1));
                assertTrue(Set.of("yes", "no").contains(value.get("answer").asText()), value.toString());
            }
        }
    }

    @Test
    void aConstraintWithoutStopTokensIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder()
                .constraint(new JsonOutput(JsonGrammar.anyObject(), bytes())).build());
        assertTrue(e.getMessage().contains("stopTokens"), e.getMessage());
    }

    private static String text(long[] ids, int from, int to) {
        byte[] b = new byte[to - from];
        for (int i = from; i < to; i++) {
            b[i - from] = (byte) ids[i];
        }
        return new String(b, StandardCharsets.UTF_8);
    }
}
