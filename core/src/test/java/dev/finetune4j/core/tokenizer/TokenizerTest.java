package dev.finetune4j.core.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TokenizerTest {

    @Test
    void byteLevelRoundTripsEnglishChineseAndEmoji() {
        ByteLevelTokenizer tok = new ByteLevelTokenizer();
        for (String s : List.of("Hello, world!", "您好，请问信用卡年费怎么收取？", "mixed 中文 and 😀 emoji", "")) {
            assertEquals(s, tok.decode(tok.encode(s)));
        }
        // "中" is E4 B8 AD in UTF-8
        assertArrayEquals(new long[]{0xE4, 0xB8, 0xAD}, tok.encode("中"));
    }

    @Test
    void byteLevelSkipsSpecialTokensAndSurvivesCutSequences() {
        ByteLevelTokenizer tok = new ByteLevelTokenizer();
        assertEquals("ab", tok.decode(new long[]{ByteLevelTokenizer.BOS, 'a', 'b', ByteLevelTokenizer.EOS}));
        assertEquals("a\uFFFD", tok.decode(new long[]{'a', 0xE4, 0xB8}));
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new long[]{ByteLevelTokenizer.VOCAB_SIZE}));
    }

    @Test
    void huggingFaceTokenizerEncodesDecodesAndReadsSpecialTokens() throws Exception {
        Path dir = Path.of(getClass().getResource("/tokenizer/wordlevel").toURI());
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertArrayEquals(new long[]{3, 4, 7, 5, 6}, tok.encode("hello world , 你好 世界"));
            assertArrayEquals(new long[]{9, 0}, tok.encode("bank unknownword"));
            assertEquals("hello world", tok.decode(new long[]{1, 3, 4, 2}));
            assertEquals(10, tok.vocabSize());
            assertEquals(1, tok.bosTokenId().getAsLong());
            assertEquals(2, tok.eosTokenId().getAsLong());
            assertEquals(ChatTemplate.CHATML, tok.chatTemplate());
        }
    }

    @Test
    void chatTemplatesRenderAsTheirModelsExpect() {
        List<ChatMessage> chat = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplate.CHATML.render(chat, true));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                ChatTemplate.LLAMA3.render(chat, true));
        assertEquals("Be brief.\n\n### Instruction:\nHi\n\n### Response:\n", ChatTemplate.ALPACA.render(chat, true));
        assertEquals("System: Be brief.\nUser: Hi\nAssistant: ", ChatTemplate.SIMPLE.render(chat, true));
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.named("jinja"));
    }

    @Test
    void missingTokenizerFileIsExplained() {
        var e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(Path.of("/nonexistent")));
        assertEquals(true, e.getMessage().contains("tokenizer.json"));
    }
}
