package dev.finetune4j.core.io;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryDtypeWithMetadata() throws Exception {
        Path file = dir.resolve("t.safetensors");
        try (TensorScope scope = TensorScope.detached()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("f32", Tensor.of(scope, new float[]{1.5f, -2f, 3.25f, 0f, 7f, -0.125f}, 2, 3));
            tensors.put("bf16", tensors.get("f32").convertTo(DType.BF16, scope));
            tensors.put("f16", tensors.get("f32").convertTo(DType.F16, scope));
            Tensor ids = Tensor.zeros(scope, DType.I64, Shape.of(3));
            ids.storage().setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 2, 1L << 40);
            tensors.put("i64", ids);
            tensors.put("transposed", tensors.get("f32").transpose(0, 1));
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(java.util.List.of("bf16", "f16", "f32", "i64", "transposed"), f.names());
            assertEquals("pt", f.metadata().get("format"));
            assertArrayEquals(new float[]{1.5f, -2f, 3.25f, 0f, 7f, -0.125f}, f.tensor("bf16").toFloatArray());
            assertArrayEquals(new float[]{1.5f, -2f, 3.25f, 0f, 7f, -0.125f}, f.tensor("f16").toFloatArray());
            assertArrayEquals(new long[]{0, 0, 1L << 40}, f.tensor("i64").toLongArray());
            assertArrayEquals(new float[]{1.5f, 0f, -2f, 7f, 3.25f, -0.125f}, f.tensor("transposed").toFloatArray());
            assertEquals(Shape.of(3, 2), f.tensor("transposed").shape());
            long headerLen = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, headerLen % 8, "header padded to 8 bytes");
        }
        try (var left = Files.list(dir)) {
            assertEquals(1, left.count(), "no temporary file left behind");
        }
    }

    @Test
    void readsTheRealFixtureAndInvalidatesViewsOnClose() throws Exception {
        Path model = Path.of(getClass().getResource("/hf-tiny/llama/model.safetensors").toURI());
        Tensor kept;
        try (SafetensorsFile f = SafetensorsFile.open(model)) {
            kept = f.tensor("model.layers.0.self_attn.k_proj.weight");
            assertEquals(Shape.of(32, 64), kept.shape());
            assertEquals(DType.F32, kept.dtype());
            assertEquals(Shape.of(256, 64), f.tensor("model.embed_tokens.weight").shape());
            assertThrows(IllegalArgumentException.class, () -> f.tensor("nope"));
        }
        assertThrows(IllegalStateException.class, kept::toFloatArray);
    }

    @Test
    void shardedIndexJoinsShardsAndReportsMissingOnes() throws Exception {
        try (TensorScope scope = TensorScope.detached()) {
            SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), Map.of("a", Tensor.of(scope, new float[]{1}, 1)), null);
            SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), Map.of("b", Tensor.of(scope, new float[]{2}, 1)), null);
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertEquals(2f, ckpt.tensor("b").toFloatArray()[0]);
            assertEquals(2, ckpt.names().size());
        }
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void refusesPickleCheckpoints() throws Exception {
        Path bin = Files.write(dir.resolve("pytorch_model.bin"), new byte[]{(byte) 0x80, 2});
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("pickle") && e.getMessage().contains("save_pretrained"), e.getMessage());
        assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(bin));
    }

    @Test
    void corruptFilesAreRejectedWithTheirProblemNamed() throws IOException {
        assertProblem(new byte[]{1, 2, 3}, "too short");
        assertProblem(withHeaderLength(1_000, "{}"), "past the end");
        assertProblem(withHeaderLength(200L * 1024 * 1024, "{}"), "limit");
        assertProblem(file("{not json"), "invalid JSON");
        assertProblem(file("{\"a\":{\"dtype\":\"F64X\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "unknown dtype");
        assertProblem(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), "outside");
        assertProblem(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), "do not match");
        assertProblem(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8), "overlap");
        assertProblem(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "duplicate");
    }

    private void assertProblem(byte[] content, String expected) throws IOException {
        Path f = Files.write(dir.resolve("bad-" + expected.replace(' ', '_') + ".safetensors"), content);
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains(f.getFileName().toString()), e.getMessage());
    }

    private static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array();
    }

    private static byte[] file(String header) {
        return file(header, 0);
    }

    private static byte[] withHeaderLength(long len, String header) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(len).put(h).array();
    }
}
