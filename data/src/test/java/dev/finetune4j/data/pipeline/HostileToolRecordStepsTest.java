package dev.finetune4j.data.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.ReadOptions;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.record.Record;
import org.junit.jupiter.api.Test;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.CharBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * Tool call arguments an attacker or a broken export could put in a record, through the steps that rewrite them
 * value by value: what comes out is still JSON that a UTF-8 file can hold.
 */
class HostileToolRecordStepsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void anEscapedLoneSurrogateInARewrittenValueStaysAnEscape() throws Exception {
        // valid JSON: a \\u escape may name a lone surrogate; decoded and quoted raw it could not be written as UTF-8
        Record record = call("{\"note\": \"\\udc00\\ud800 zhang.san@example.com\", \"ok\": \"\\ud83d\\ude00 &amp;\"}");

        String redacted = arguments(new PiiStep(PiiRedactor.defaults()).apply(record).record());
        String cleaned = arguments(TextCleaner.defaults().apply(record).record());

        assertEquals("{\"note\": \"\\udc00\\ud800 [EMAIL]\", \"ok\": \"\\ud83d\\ude00 &amp;\"}", redacted);
        assertEquals("{\"note\": \"\\udc00\\ud800 zhang.san@example.com\", \"ok\": \"\uD83D\uDE00 &\"}", cleaned,
                "a valid pair is written as the character itself");
        for (String json : List.of(redacted, cleaned)) {
            StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(json)); // throws on a raw lone surrogate
            assertEquals(2, JSON.readTree(json).size());
        }
    }

    private static Record call(String arguments) throws Exception {
        String line = "{\"messages\": [{\"role\": \"user\", \"content\": \"Note it.\"}, {\"role\": \"assistant\", \"content\": "
                + "\"\", \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"note\", "
                + "\"arguments\": " + JSON.writeValueAsString(arguments) + "}}]}]}";
        Parsed parsed = Formats.parseObject(line, "calls.jsonl", 1, ReadOptions.DEFAULTS);
        return assertInstanceOf(Parsed.Ok.class, parsed, parsed::toString).record();
    }

    private static String arguments(Record r) {
        Map<?, ?> assistant = (Map<?, ?>) ((List<?>) r.fields().get("messages")).get(1);
        return (String) ((Map<?, ?>) ((Map<?, ?>) ((List<?>) assistant.get("tool_calls")).getFirst()).get("function"))
                .get("arguments");
    }
}
