package dev.finetune4j.serve;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Streamed text never splits a character, and the pieces add up to the decoded whole. */
class IncrementalDetokenizerTest {
    private static final String TEXT = "héllo 你好 🙂 wörld";

    @Test
    void byteTokensOfMultiByteCharactersAreHeldUntilTheCharacterIsComplete() {
        ByteLevelTokenizer bytes = new ByteLevelTokenizer();
        long[] ids = bytes.encode(TEXT); // one token per UTF-8 byte: 'é' is 2 tokens, '你' 3, '🙂' 4
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(bytes, bytes.encode("prompt: "));
        List<String> pieces = new ArrayList<>();
        for (long id : ids) {
            pieces.add(detokenizer.next(id));
        }
        pieces.add(detokenizer.flush());

        for (String piece : pieces) {
            assertFalse(piece.contains("\uFFFD"), "a piece holds half a character: " + pieces);
        }
        assertEquals(TEXT, String.join("", pieces));
        // the second byte of 'é' completes it: nothing for the first byte, then "é" at once
        assertEquals(List.of("h", "", "é", "l"), pieces.subList(0, 4));
        // the 4-byte emoji comes out whole with its last byte
        int emojiEnd = "héllo 你好 ".getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 3;
        assertEquals("🙂", pieces.get(emojiEnd));
    }

    @Test
    void byteLevelBpeTokensStreamTheTextTheyDecodeToWhole() {
        try (HfTokenizer tokenizer = HfTokenizer.load(ServerFixture.modelDir())) {
            long[] prompt = tokenizer.encode("Q: ");
            long[] ids = tokenizer.encode(TEXT);
            IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, prompt);
            StringBuilder text = new StringBuilder();
            for (long id : ids) {
                String piece = detokenizer.next(id);
                assertFalse(piece.contains("\uFFFD"), "split character in '" + piece + "'");
                text.append(piece);
            }
            text.append(detokenizer.flush());
            assertEquals(tokenizer.decode(ids), text.toString());
            assertEquals(TEXT, text.toString());
        }
    }

    @Test
    void anIncompleteCharacterAtTheEndIsFlushedAsTheReplacementCharacter() {
        ByteLevelTokenizer bytes = new ByteLevelTokenizer();
        long[] ids = bytes.encode("a你");
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(bytes, new long[]{'x'});
        assertEquals("a", detokenizer.next(ids[0]));
        assertEquals("", detokenizer.next(ids[1]));
        assertEquals("", detokenizer.next(ids[2]));
        assertEquals("\uFFFD", detokenizer.flush()); // generation stopped inside the character (max_tokens)
    }

    @Test
    @Timeout(5)
    void invalidBytesStreamAsReplacementCharactersInLinearTime() {
        try (HfTokenizer tokenizer = HfTokenizer.load(ServerFixture.modelDir())) {
            long byteFF = 255; // 'ÿ' in the fixture's byte-level vocabulary: the byte 0xFF, never valid in UTF-8
            assertEquals("\uFFFD", tokenizer.decode(new long[]{byteFF}));
            long[] ids = new long[16_384];
            Arrays.fill(ids, byteFF);
            IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, tokenizer.encode("Q: "));
            StringBuilder streamed = new StringBuilder();
            for (long id : ids) {
                streamed.append(detokenizer.next(id));
            }
            assertTrue(streamed.length() >= ids.length - IncrementalDetokenizer.MAX_PENDING_TOKENS,
                    "held back " + (ids.length - streamed.length()) + " of " + ids.length + " tokens' text");
            streamed.append(detokenizer.flush());
            assertEquals(tokenizer.decode(ids), streamed.toString());
        }
    }

    @Test
    void aCharacterSplitAcrossTokensStreamsWholeAfterInvalidBytes() {
        ByteLevelTokenizer bytes = new ByteLevelTokenizer();
        // 22 invalid bytes, then '你' in three tokens: the held-back tokens overflow inside the character
        long[] ids = new long[25];
        Arrays.fill(ids, 0xFF);
        System.arraycopy(bytes.encode("你"), 0, ids, 22, 3);
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(bytes, bytes.encode("x"));
        StringBuilder streamed = new StringBuilder();
        String piece = "";
        for (long id : ids) {
            piece = detokenizer.next(id);
            streamed.append(piece);
        }
        assertTrue(piece.endsWith("\uFFFD你"), "the last byte of '你' gave '" + piece + "'");
        streamed.append(detokenizer.flush());
        assertEquals("\uFFFD".repeat(22) + "你", streamed.toString());
    }
}
