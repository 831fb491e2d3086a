package dev.finetune4j.spark;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.pipeline.InputReport;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Records and read items written as bytes read back equal, with every JSON value type and their order. */
class BinaryEncodersTest {
    private static Record roundTrip(Record r) {
        Bytes.Out out = new Bytes.Out();
        RecordBytes.write(out, r);
        return RecordBytes.read(new Bytes.In(out.toByteArray()));
    }

    @Test
    void everyJsonValueTypeReadsBackEqualInItsOrder() {
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("z", List.of("a", 1, 2L, 2.5, true));
        nested.put("a", null);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("text", "héllo 你好 \uD83D\uDE00\n\"quoted\"");
        fields.put("n", Integer.MIN_VALUE);
        fields.put("big", Long.MAX_VALUE);
        fields.put("negative", -1L);
        fields.put("x", -0.0);
        fields.put("flag", false);
        fields.put("messages", new ArrayList<>(List.of(nested, Map.of("role", "user"))));
        fields.put("price", new BigDecimal("12.50"));
        Record r = new Record("f.jsonl:7", new SourceRef("f.jsonl", 7), fields, Map.of("lang", "en"))
                .withMeta("note", "");
        Record back = roundTrip(r);
        assertEquals(r, back);
        assertEquals(List.copyOf(r.fields().keySet()), List.copyOf(back.fields().keySet()), "field order");
        assertEquals(Integer.class, back.fields().get("n").getClass(), "an int stays an int");
        assertEquals(Long.class, back.fields().get("negative").getClass(), "a long stays a long");
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits((Double) back.fields().get("x")));
        assertEquals(new BigDecimal("12.50"), back.fields().get("price"), "other values are Java-serialized");
    }

    @Test
    void aTextLongerThan64KiBReadsBack() {
        char[] text = new char[200_000];
        Arrays.fill(text, 'ü');
        Record r = Record.of(new SourceRef("big.jsonl", 1), Map.of("text", new String(text)));
        assertEquals(r, roundTrip(r));
    }

    @Test
    void loneSurrogatesReadBackAsTheyWere() {
        // NOTE: a JSON escape of half a surrogate pair reads into a lone surrogate, which UTF-8 cannot hold
        for (String text : List.of("中文\uD800！", "\uDC00 first", "last \uD83D", "reversed \uDE00\uD83D pair",
                "a pair \uD83D\uDE00 then a lone \uDBFF")) {
            Record r = Record.of(new SourceRef("s\uD800.jsonl", 1), Map.of("text", text, "tags", List.of(text)));
            Record back = roundTrip(r);
            assertEquals(r, back, text);
            assertEquals(r.id(), back.id());
        }
    }

    @Test
    void aValueThatCannotBeSentIsRefusedWithItsType() {
        Record r = Record.of(new SourceRef("f.jsonl", 1), Map.of("text", "t", "thread", new Object()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> roundTrip(r));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
    }

    @Test
    void readItemsOfEveryKindReadBackEqual() {
        Record record = Record.of(new SourceRef("a.jsonl", 3), Map.of("text", "hi"));
        for (ReadItem item : List.of(ReadItem.of(2, OrderKeys.of(2, 5), record),
                ReadItem.bad(1, new BadLine("a.jsonl", 4, "invalid JSON: unexpected end", "{\"text\": ")),
                ReadItem.bad(0, new BadLine("a.csv", 9, "missing cells", null)),
                ReadItem.report(0, new InputReport("a.jsonl", "ab12", 1234, 10, 2)))) {
            Bytes.Out out = new Bytes.Out();
            BinaryEncoders.writeItem(out, item);
            assertEquals(item, BinaryEncoders.readItem(new Bytes.In(out.toByteArray())));
        }
    }
}
