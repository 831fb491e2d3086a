package dev.finetune4j.core.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Tokenizer#encodeWithSpecialTokens} against the ids transformers' {@code tokenizer(text, truncation=True,
 * max_length=n)} gives, worked out by hand from the vocabularies in {@code src/test/resources/tokenizer} (README).
 */
class SpecialTokensEncodingTest {
    // bert-wordpiece
    private static final long CLS = 2;
    private static final long SEP = 3;
    private static final long REFUND = 6;
    private static final long SUFFIX_S = 7;
    private static final long MY = 8;
    private static final long BANG = 13;
    private static final long PLEASE = 14;
    private static final long COMMA = 15;
    private static final long CAFE = 18;
    // sentencepiece-bos
    private static final long BOS = 1;
    private static final long SPACE_HELLO = 358;
    private static final long SPACE_WORLD = 368;

    @Test
    void bertWrapsTheTextInClsAndSepAndKeepsSepWhenCut() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("bert-wordpiece"))) {
            // lower-cased, punctuation split off, "refunds" = refund ##s
            long[] text = {MY, REFUND, SUFFIX_S, COMMA, PLEASE, BANG};
            assertArrayEquals(text, tok.encode("My refunds, please!"), "encode adds nothing");
            assertArrayEquals(new long[]{CLS, MY, REFUND, SUFFIX_S, COMMA, PLEASE, BANG, SEP},
                    tok.encodeWithSpecialTokens("My refunds, please!", 128));
            assertArrayEquals(new long[]{CLS, MY, REFUND, SUFFIX_S, COMMA, PLEASE, BANG, SEP},
                    tok.encodeWithSpecialTokens("My refunds, please!", 8), "exactly fits");
            // max_length 4: two text tokens, cut inside "refunds" as transformers cuts
            assertArrayEquals(new long[]{CLS, MY, REFUND, SEP}, tok.encodeWithSpecialTokens("My refunds, please!", 4));
            assertArrayEquals(new long[]{CLS, MY, SEP}, tok.encodeWithSpecialTokens("My refunds, please!", 3));
            // uncased BERT strips accents too: café is "cafe" (18), not the vocabulary's "café" (17)
            assertArrayEquals(new long[]{CLS, 19, 20, 21, CAFE, 22, SEP}, tok.encodeWithSpecialTokens("unbelievable Café?", 64));
            assertArrayEquals(new long[]{CLS, SEP}, tok.encodeWithSpecialTokens("", 64));
            // "[SEP]" typed in the text is the text's token, so it counts against the text's room
            assertArrayEquals(new long[]{CLS, SEP, MY, SEP}, tok.encodeWithSpecialTokens("[SEP] my refund", 4));
            IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
                    () -> tok.encodeWithSpecialTokens("my refund", 2));
            assertTrue(tooShort.getMessage().contains("adds 2 special tokens") && tooShort.getMessage().contains("at least 3"),
                    tooShort.getMessage());
        }
    }

    @Test
    void aLlamaStyleTokenizerStartsWithBos() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("sentencepiece-bos"))) {
            assertArrayEquals(new long[]{SPACE_HELLO, SPACE_WORLD}, tok.encode("hello world"));
            assertArrayEquals(new long[]{BOS, SPACE_HELLO, SPACE_WORLD}, tok.encodeWithSpecialTokens("hello world", 16));
            assertArrayEquals(new long[]{BOS, SPACE_HELLO}, tok.encodeWithSpecialTokens("hello world", 2));
            assertArrayEquals(new long[]{BOS, SPACE_HELLO, SPACE_WORLD}, tok.encodeWithSpecialTokens("hello world"), "whole");
        }
    }

    @Test
    void withoutPostProcessorTheTextIsOnlyCut() throws Exception {
        // Qwen2's and GPT-2's tokenizer(text) add nothing either
        try (HfTokenizer tok = HfTokenizer.load(resource("bytebpe"))) {
            assertArrayEquals(tok.encode("hello world"), tok.encodeWithSpecialTokens("hello world", 16));
            assertArrayEquals(new long[]{'a', 'b'}, tok.encodeWithSpecialTokens("abc", 2));
        }
        Tokenizer bytes = new ByteLevelTokenizer();
        assertArrayEquals(new long[]{'a', 'b', 'c'}, bytes.encodeWithSpecialTokens("abc", 3));
        assertArrayEquals(new long[]{'a'}, bytes.encodeWithSpecialTokens("abc", 1));
        assertThrows(IllegalArgumentException.class, () -> bytes.encodeWithSpecialTokens("abc", 0));
    }

    private Path resource(String name) throws Exception {
        return Path.of(getClass().getResource("/tokenizer/" + name).toURI());
    }
}
