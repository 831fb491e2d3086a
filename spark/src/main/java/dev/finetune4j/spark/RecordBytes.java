package dev.finetune4j.spark;

import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Record} as compact bytes: id, source, and the fields and meta as tagged JSON-shaped values (strings,
 * booleans, ints, longs, doubles, lists, maps in their order, null). A value of any other type (a
 * {@code BigDecimal} from a custom step, say) is Java-serialized on its own, so every record reads back equal to
 * the one written.
 */
final class RecordBytes {
    private static final int NULL = 0;
    private static final int STRING = 1;
    private static final int TRUE = 2;
    private static final int FALSE = 3;
    private static final int INT = 4;
    private static final int LONG = 5;
    private static final int DOUBLE = 6;
    private static final int LIST = 7;
    private static final int MAP = 8;
    private static final int SERIALIZED = 9;

    private RecordBytes() {
    }

    static void write(Bytes.Out out, Record r) {
        out.writeString(r.id());
        out.writeString(r.source().file());
        out.writeVarLong(r.source().line());
        writeValue(out, r.fields());
        writeValue(out, r.meta());
    }

    @SuppressWarnings("unchecked")
    static Record read(Bytes.In in) {
        String id = in.readString();
        SourceRef source = new SourceRef(in.readString(), in.readVarLong());
        Map<String, Object> fields = (Map<String, Object>) readValue(in);
        Map<String, String> meta = (Map<String, String>) (Map<String, ?>) readValue(in);
        return new Record(id, source, fields, meta);
    }

    private static void writeValue(Bytes.Out out, Object v) {
        switch (v) {
            case null -> out.writeByte(NULL);
            case String s -> {
                out.writeByte(STRING);
                out.writeString(s);
            }
            case Boolean b -> out.writeByte(b ? TRUE : FALSE);
            case Integer i -> {
                out.writeByte(INT);
                out.writeLong(i);
            }
            case Long l -> {
                out.writeByte(LONG);
                out.writeLong(l);
            }
            case Double d -> {
                out.writeByte(DOUBLE);
                out.writeLong(Double.doubleToRawLongBits(d));
            }
            case List<?> list -> {
                out.writeByte(LIST);
                out.writeVarLong(list.size());
                list.forEach(e -> writeValue(out, e));
            }
            case Map<?, ?> map -> {
                out.writeByte(MAP);
                out.writeVarLong(map.size());
                map.forEach((k, e) -> {
                    writeValue(out, k);
                    writeValue(out, e);
                });
            }
            case Serializable other -> {
                out.writeByte(SERIALIZED);
                out.writeSerialized(other);
            }
            default -> throw new IllegalArgumentException("a record holds a " + v.getClass().getName()
                    + ", which is neither a JSON value nor Serializable, so Spark cannot move it between tasks;"
                    + " make the step that puts it there store a JSON value");
        }
    }

    private static Object readValue(Bytes.In in) {
        int tag = in.readByte();
        return switch (tag) {
            case NULL -> null;
            case STRING -> in.readString();
            case TRUE -> Boolean.TRUE;
            case FALSE -> Boolean.FALSE;
            case INT -> (int) in.readLong();
            case LONG -> in.readLong();
            case DOUBLE -> Double.longBitsToDouble(in.readLong());
            case LIST -> {
                int n = Math.toIntExact(in.readVarLong());
                List<Object> list = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    list.add(readValue(in));
                }
                yield list;
            }
            case MAP -> {
                int n = Math.toIntExact(in.readVarLong());
                Map<Object, Object> map = LinkedHashMap.newLinkedHashMap(n);
                for (int i = 0; i < n; i++) {
                    map.put(readValue(in), readValue(in));
                }
                yield map;
            }
            case SERIALIZED -> in.readSerialized();
            default -> throw new IllegalStateException("corrupt record bytes: unknown value tag " + tag);
        };
    }
}
