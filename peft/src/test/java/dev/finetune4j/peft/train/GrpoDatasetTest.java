package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GRPO's prompt data sets from text and from conversations. */
class GrpoDatasetTest {
    private static final ByteLevelTokenizer TOKENIZER = new ByteLevelTokenizer();

    @Test
    void textsAreEncodedAsWritten() {
        GrpoDataset d = GrpoDataset.fromTexts(List.of("2+2=", "Hi"), TOKENIZER);
        assertEquals(2, d.size());
        assertArrayEquals(new long[]{'2', '+', '2', '='}, d.get(0).prompt());
        assertEquals("Hi", d.get(1).text());
    }

    /** The template's generation prompt opens the assistant's turn; the rewards see the last user message. */
    @Test
    void conversationsAreRenderedWithTheGenerationPrompt() {
        GrpoDataset d = GrpoDataset.fromChats(List.of(List.of(ChatMessage.system("Be brief."), ChatMessage.user("2+2?"))),
                TOKENIZER, ChatTemplate.SIMPLE);
        assertEquals("System: Be brief.\nUser: 2+2?\nAssistant: ", TOKENIZER.decode(d.get(0).prompt()));
        assertEquals("2+2?", d.get(0).text());
    }

    @Test
    void promptsWithoutTokensOrUserMessageAreRefused() {
        var empty = assertThrows(IllegalArgumentException.class, () -> GrpoDataset.fromTexts(List.of("a", ""), TOKENIZER));
        assertTrue(empty.getMessage().contains("GRPO prompt 1 encodes to no token"), empty.getMessage());
        var noUser = assertThrows(IllegalArgumentException.class, () -> GrpoDataset.fromChats(
                List.of(List.of(ChatMessage.system("Be brief."))), TOKENIZER, ChatTemplate.SIMPLE));
        assertTrue(noUser.getMessage().contains("GRPO conversation 0 has no user message"), noUser.getMessage());
        var none = assertThrows(IllegalArgumentException.class, () -> GrpoDataset.of(List.of()));
        assertTrue(none.getMessage().contains("at least one prompt"), none.getMessage());
    }
}
