package dev.finetune4j.core.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ByteLevelTokenizerTest {
    private final ByteLevelTokenizer tok = new ByteLevelTokenizer();

    @Test
    void roundTripsEnglishChineseAndEmoji() {
        for (String s : List.of("Hello, world!", "您好，请问信用卡年费怎么收取？", "mixed 中文 and 😀 emoji 👨‍👩‍👧", "tab\tnew\nline", "")) {
            assertEquals(s, tok.decode(tok.encode(s)));
        }
        // "中" is E4 B8 AD in UTF-8; "😀" is F0 9F 98 80
        assertArrayEquals(new long[]{0xE4, 0xB8, 0xAD}, tok.encode("中"));
        assertArrayEquals(new long[]{0xF0, 0x9F, 0x98, 0x80}, tok.encode("😀"));
        assertArrayEquals(new long[]{'h', 'i'}, tok.encode("hi"));
    }

    @Test
    void skipsSpecialTokensAndSurvivesCutSequences() {
        assertEquals("ab", tok.decode(new long[]{ByteLevelTokenizer.BOS, 'a', 'b', ByteLevelTokenizer.EOS, ByteLevelTokenizer.PAD}));
        assertEquals("a\uFFFD", tok.decode(new long[]{'a', 0xE4, 0xB8}));
        assertEquals("\uFFFDb", tok.decode(new long[]{0xB8, 'b'}));
        var e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new long[]{ByteLevelTokenizer.VOCAB_SIZE}));
        assertEquals(true, e.getMessage().contains("259"), e.getMessage());
    }

    @Test
    void declaresItsVocabularyAndSpecialIds() {
        assertEquals(259, tok.vocabSize());
        assertEquals(256, tok.bosTokenId().getAsLong());
        assertEquals(257, tok.eosTokenId().getAsLong());
        assertEquals(258, tok.padTokenId().getAsLong());
        assertEquals("User: hi\nAssistant: ", tok.applyChatTemplate(List.of(ChatMessage.user("hi")), true));
        assertEquals(tok.encode("User: hi\nAssistant: ").length, tok.encodeChat(List.of(ChatMessage.user("hi")), true).length);
    }
}
