package dev.finetune4j.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key/value pairs of a GGUF file (version 3, gguf.h's layout), read independently of {@link GgufWriter}: strings,
 * integers, floats and booleans as Java values, arrays as lists of them. For tests of what an export writes.
 */
final class GgufKeyValues {
    private GgufKeyValues() {
    }

    static Map<String, Object> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt() != 0x46554747 || in.getInt() != 3) {
            throw new IOException(file + " is not a GGUF file of version 3");
        }
        in.getLong(); // tensors
        long count = in.getLong();
        Map<String, Object> out = new LinkedHashMap<>();
        for (long i = 0; i < count; i++) {
            String key = string(in);
            out.put(key, value(in, in.getInt()));
        }
        return out;
    }

    private static Object value(ByteBuffer in, int type) {
        return switch (type) {
            case 0 -> (int) in.get() & 0xff;
            case 1 -> (int) in.get();
            case 2 -> in.getShort() & 0xffff;
            case 3 -> (int) in.getShort();
            case 4 -> Integer.toUnsignedLong(in.getInt());
            case 5 -> in.getInt();
            case 6 -> in.getFloat();
            case 7 -> in.get() != 0;
            case 8 -> string(in);
            case 9 -> {
                int elementType = in.getInt();
                long n = in.getLong();
                List<Object> list = new ArrayList<>();
                for (long j = 0; j < n; j++) {
                    list.add(value(in, elementType));
                }
                yield list;
            }
            case 10, 11 -> in.getLong();
            case 12 -> in.getDouble();
            default -> throw new IllegalArgumentException("unknown GGUF value type " + type);
        };
    }

    private static String string(ByteBuffer in) {
        byte[] bytes = new byte[Math.toIntExact(in.getLong())];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
