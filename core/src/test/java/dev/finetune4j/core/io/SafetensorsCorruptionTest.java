package dev.finetune4j.core.io;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of corrupt file fails on open with a {@link SafetensorsFormatException} naming file and problem. */
class SafetensorsCorruptionTest {
    @TempDir
    Path dir;

    static Stream<Arguments> corruptFiles() {
        return Stream.of(
                Arguments.of("too short", new byte[]{1, 2, 3}),
                Arguments.of("past the end", withHeaderLength(1_000, "{}")),
                Arguments.of("over the 104857600-byte limit", withHeaderLength(200L * 1024 * 1024, "{}")),
                Arguments.of("header length -5 is negative", withHeaderLength(-5, "{}")),
                Arguments.of("invalid JSON", file("{not json", 0)),
                Arguments.of("invalid JSON", file("{} trailing", 0)),
                Arguments.of("not a JSON object", file("[1, 2]", 0)),
                Arguments.of("not valid UTF-8", file(new byte[]{'{', '"', (byte) 0xC3, '"', ':', '1', '}'}, 0)),
                Arguments.of("unknown dtype 'F64X'", file(entry("a", "F64X", "[1]", 0, 4), 4)),
                Arguments.of("needs a 'dtype' string", file("{\"a\":[1,2]}", 0)),
                Arguments.of("needs a 'dtype' string", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4)),
                Arguments.of("must hold non-negative integers", file(entry("a", "F32", "[-1]", 0, 4), 4)),
                Arguments.of("must hold non-negative integers", file(entry("a", "F32", "[1.5]", 0, 4), 4)),
                Arguments.of("must hold non-negative integers", file(entry("a", "F32", "[\"1\"]", 0, 4), 4)),
                Arguments.of("more bytes than a 64-bit size", file(entry("a", "F32", "[4294967296, 4294967296]", 0, 4), 4)),
                Arguments.of("outside the data section", file(entry("a", "F32", "[2]", 0, 8), 4)),
                Arguments.of("outside the data section", file(entry("a", "F32", "[0]", 4, 0), 4)),
                Arguments.of("do not match F32 x shape [2] = 8 bytes", file(entry("a", "F32", "[2]", 0, 4), 4)),
                Arguments.of("'a' and 'b' overlap", file(two(entry("a", "F32", "[1]", 0, 4), entry("b", "F32", "[1]", 2, 6)), 8)),
                // a zero-length tensor sitting inside a long one must not hide the overlap of the long one and the next
                Arguments.of("'a' and 'c' overlap", file("{" + body(entry("a", "F32", "[4]", 0, 16)) + "," + body(entry("b", "F32", "[0]", 4, 4))
                        + "," + body(entry("c", "F32", "[1]", 8, 12)) + "}", 16)),
                Arguments.of("duplicate tensor name", file(two(entry("a", "F32", "[1]", 0, 4), entry("a", "F32", "[1]", 4, 8)), 8)),
                Arguments.of("__metadata__ value 'n' must be a string", file("{\"__metadata__\":{\"n\":1}}", 0)),
                Arguments.of("__metadata__ must be an object", file("{\"__metadata__\":\"x\"}", 0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptFiles")
    void corruptFileIsRejectedWithItsProblemNamed(String expected, byte[] content) throws Exception {
        Path f = Files.write(dir.resolve("bad.safetensors"), content);
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().startsWith(f.toString())
                && e.getMessage().indexOf(f.toString(), 1) < 0, "names the file once: " + e.getMessage());
    }

    /** A header listing more tensors than any checkpoint file holds is refused while it is read. */
    @Test
    void aHeaderListingTooManyTensorsIsRefused() throws Exception {
        StringBuilder header = new StringBuilder("{");
        for (int i = 0; i <= SafetensorsHeader.MAX_TENSORS; i++) {
            header.append(i == 0 ? "" : ",").append(body("t" + i, "F32", "[0]", 0, 0));
        }
        Path f = Files.write(dir.resolve("many.safetensors"), file(header.append('}').toString(), 0));
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().startsWith(f + ": the header lists more than " + SafetensorsHeader.MAX_TENSORS + " tensors"),
                e.getMessage());
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "{" + body(name, dtype, shape, begin, end) + "}";
    }

    private static String body(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private static String body(String entry) {
        return entry.substring(1, entry.length() - 1);
    }

    private static String two(String first, String second) {
        return "{" + body(first) + "," + body(second) + "}";
    }

    private static byte[] file(String header, int dataBytes) {
        return file(header.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    private static byte[] file(byte[] header, int dataBytes) {
        return ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).array();
    }

    private static byte[] withHeaderLength(long len, String header) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(len).put(h).array();
    }
}
