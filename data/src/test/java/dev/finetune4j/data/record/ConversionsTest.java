package dev.finetune4j.data.record;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ConversionsTest {
    private final Record alpaca = Record.of(new SourceRef("a.jsonl", 1),
            Map.of("instruction", "翻译成英文", "input", "你好", "output", "Hello"));

    @Test
    void alpacaToOpenAiToShareGptAndBack() {
        Record openai = Conversions.convert(alpaca, Schema.OPENAI);
        assertEquals(List.of(Map.of("role", "user", "content", "翻译成英文\n你好"),
                Map.of("role", "assistant", "content", "Hello")), openai.fields().get("messages"));
        Record sharegpt = Conversions.convert(openai, Schema.SHAREGPT);
        assertEquals(List.of(Map.of("from", "human", "value", "翻译成英文\n你好"),
                Map.of("from", "gpt", "value", "Hello")), sharegpt.fields().get("conversations"));
        Record back = Conversions.convert(sharegpt, Schema.ALPACA);
        assertEquals(Map.of("instruction", "翻译成英文\n你好", "input", "", "output", "Hello"), back.fields());
        assertEquals("a.jsonl:1", back.id());
        assertEquals("翻译成英文\n你好\nHello", Conversions.convert(alpaca, Schema.TEXT).string("text"));
    }

    @Test
    void inventingPreferencesIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Conversions.convert(alpaca, Schema.PREFERENCE));
    }

    @Test
    void textsSkipRoles() {
        Record r = Conversions.convert(alpaca, Schema.OPENAI);
        assertEquals(List.of("翻译成英文\n你好", "Hello"), r.texts());
        assertEquals("user", ((Map<?, ?>) ((List<?>) r.mapTexts(String::toUpperCase).fields().get("messages")).get(0))
                .get("role"));
    }
}
