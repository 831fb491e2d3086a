package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Tokenizer#encodePairWithSpecialTokens} against transformers 5.17's {@code tokenizer(text, text_pair,
 * truncation=True, max_length=n, return_token_type_ids=True)} over the tokenizers of {@code src/test/resources/tokenizer}
 * (pair-encodings.json, made by tools/reference/pair_tokenizers.py): BERT's template with types 0/1, RoBERTa's
 * RobertaProcessing and XLM-RoBERTa's TemplateProcessing with types all 0, and a byte-level BPE without
 * post-processor (the texts joined, types 0/1); each text the longer, both cut with odd and even budgets, no cut.
 */
class PairEncodingTest {

    @ParameterizedTest
    @ValueSource(strings = {"bert-wordpiece", "roberta-bytebpe", "xlmr-unigram", "bytebpe"})
    void pairsAreEncodedAndCutAsTransformersDoes(String name) throws Exception {
        JsonNode expected = new ObjectMapper().readTree(resource("pair-encodings.json").toFile()).path(name);
        int cut = 0;
        try (HfTokenizer tok = HfTokenizer.load(resource(name))) {
            for (JsonNode c : expected.path("cases")) {
                int maxLength = c.path("max_length").isNull() ? Integer.MAX_VALUE : c.path("max_length").asInt();
                PairEncoding got = tok.encodePairWithSpecialTokens(c.path("text").asText(), c.path("text_pair").asText(),
                        maxLength);
                String what = name + " " + c.path("text") + " / " + c.path("text_pair") + " max_length " + c.path("max_length");
                assertArrayEquals(longs(c.path("input_ids")), got.inputIds(), what + " ids");
                assertArrayEquals(longs(c.path("token_type_ids")), got.tokenTypeIds(), what + " type ids");
                cut += got.inputIds().length == maxLength ? 1 : 0;
            }
            assertTrue(cut >= 10, name + ": " + cut + " cases fill their max_length");
            int specials = expected.path("special_tokens").asInt();
            if (specials > 0) {
                var e = assertThrows(IllegalArgumentException.class,
                        () -> tok.encodePairWithSpecialTokens("hello", "world", specials));
                assertTrue(e.getMessage().contains("adds " + specials + " special tokens to every pair of texts")
                        && e.getMessage().contains("at least " + (specials + 1)), e.getMessage());
            }
        }
    }

    /** The interface's default (the built-in byte-level tokenizer): no template, as a tokenizer.json without one. */
    @Test
    void theDefaultJoinsThePairWithoutSpecialTokens() {
        Tokenizer bytes = new ByteLevelTokenizer();
        assertEquals(new PairEncoding(new long[]{'a', 'b', 'c', 'x', 'y'}, new long[]{0, 0, 0, 1, 1}),
                bytes.encodePairWithSpecialTokens("abc", "xy", 64));
        // budget 3: "abcd" is the longer and loses tokens until it is as long as "xy", then they alternate
        assertEquals(new PairEncoding(new long[]{'a', 'b', 'x'}, new long[]{0, 0, 1}),
                bytes.encodePairWithSpecialTokens("abcd", "xy", 3));
        assertEquals(new PairEncoding(new long[]{'a', 'x', 'y'}, new long[]{0, 1, 1}),
                bytes.encodePairWithSpecialTokens("ab", "xyz", 3));
        assertThrows(IllegalArgumentException.class, () -> bytes.encodePairWithSpecialTokens("a", "b", 0));
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private Path resource(String name) throws Exception {
        return Path.of(getClass().getResource("/tokenizer/" + name).toURI());
    }
}
