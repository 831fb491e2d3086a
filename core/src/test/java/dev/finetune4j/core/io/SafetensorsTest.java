package dev.finetune4j.core.io;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading, writing and sharding; corrupt headers are in {@link SafetensorsCorruptionTest}. */
class SafetensorsTest {
    private static final float[] VALUES = {1.5f, -2f, 3.25f, 0f, 7f, -0.125f};

    @TempDir
    Path dir;

    @Test
    void writesOpResultsThatLiveOnTheHeap() throws Exception {
        Path file = dir.resolve("heap.safetensors");
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.of(new float[]{1f, 2f, 3f, 4f}, 2, 2);
            Tensor sum = dev.finetune4j.core.autograd.Elementwise.add(a, a); // an op result: heap-backed storage
            SafetensorsWriter.write(file, java.util.Map.of("sum", sum, "sumT", sum.transpose(0, 1)), java.util.Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[]{2f, 4f, 6f, 8f}, f.tensor("sum").toFloatArray());
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[]{2f, 6f, 4f, 8f}, f.tensor("sumT").toFloatArray());
        }
    }

    @Test
    void roundTripsEveryDtypeWithMetadata() throws Exception {
        Path file = dir.resolve("t.safetensors");
        try (TensorScope scope = TensorScope.detached()) {
            Tensor f32 = Tensor.of(scope, VALUES, 2, 3);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("f32", f32);
            for (DType t : List.of(DType.BF16, DType.F16, DType.I32, DType.I8, DType.U8)) {
                tensors.put(t.name().toLowerCase(), f32.convertTo(t, scope));
            }
            Tensor ids = Tensor.zeros(scope, DType.I64, Shape.of(3));
            ids.hostSegment().setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, 2, 1L << 40);
            tensors.put("i64", ids);
            Tensor flags = Tensor.zeros(scope, DType.BOOL, Shape.of(2));
            flags.hostSegment().set(ValueLayout.JAVA_BYTE, 1, (byte) 1);
            tensors.put("bool", flags);
            tensors.put("scalar", Tensor.of(scope, new float[]{42f}));
            tensors.put("empty", Tensor.zeros(scope, DType.F32, Shape.of(0, 4)));
            tensors.put("transposed", f32.transpose(0, 1));
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt", "note", "中文"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("bf16", "bool", "empty", "f16", "f32", "i32", "i64", "i8", "scalar", "transposed", "u8"), f.names());
            assertEquals(Map.of("format", "pt", "note", "中文"), f.metadata());
            for (String n : List.of("f32", "bf16", "f16")) {
                assertArrayEquals(VALUES, f.tensor(n).toFloatArray(), n);
            }
            assertArrayEquals(new long[]{1, -2, 3, 0, 7, 0}, f.tensor("i32").toLongArray());
            assertArrayEquals(new long[]{1, -2, 3, 0, 7, 0}, f.tensor("i8").toLongArray());
            assertArrayEquals(new long[]{1, 254, 3, 0, 7, 0}, f.tensor("u8").toLongArray());
            assertArrayEquals(new long[]{0, 0, 1L << 40}, f.tensor("i64").toLongArray());
            assertArrayEquals(new long[]{0, 1}, f.tensor("bool").toLongArray());
            assertEquals(Shape.of(), f.tensor("scalar").shape());
            assertEquals(0, f.tensor("empty").numel());
            assertArrayEquals(new float[]{1.5f, 0f, -2f, 7f, 3.25f, -0.125f}, f.tensor("transposed").toFloatArray());
            assertEquals(new TensorInfo("bf16", DType.BF16, new long[]{2, 3}, 0, 12), f.info("bf16"));
            assertNull(f.info("absent"));
            long headerLen = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, headerLen % 8, "header padded to 8 bytes");
        }
        try (var left = Files.list(dir)) {
            assertEquals(1, left.count(), "no temporary file left behind");
        }
    }

    @Test
    void rewritingTheFixtureReproducesThePythonWritersBytes() throws Exception {
        Path model = fixture();
        Path copy = dir.resolve("model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(model)) {
            Map<String, Tensor> all = new LinkedHashMap<>();
            f.names().forEach(n -> all.put(n, f.tensor(n)));
            SafetensorsWriter.write(copy, all, f.metadata());
        }
        assertArrayEquals(Files.readAllBytes(model), Files.readAllBytes(copy));
    }

    @Test
    void readsTheRealFixtureAndInvalidatesViewsOnClose() throws Exception {
        Tensor kept;
        SafetensorsFile f = SafetensorsFile.open(fixture());
        try (f) {
            assertEquals(21, f.names().size());
            assertEquals(Map.of("format", "pt"), f.metadata());
            kept = f.tensor("model.layers.0.self_attn.k_proj.weight");
            assertEquals(Shape.of(32, 64), kept.shape());
            assertEquals(DType.F32, kept.dtype());
            assertEquals(Shape.of(256, 64), f.tensor("model.embed_tokens.weight").shape());
            assertEquals(new TensorInfo("lm_head.weight", DType.F32, new long[]{256, 64}, 0, 65536), f.info("lm_head.weight"));
            float[] norm = f.tensor("model.norm.weight").toFloatArray();
            assertEquals(64, norm.length);
            assertTrue(Float.isFinite(norm[0]));
            var e = assertThrows(IllegalArgumentException.class, () -> f.tensor("nope"));
            assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("21 tensors"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> kept.setFlat(0, 1f), "mapped views are read-only");
        }
        assertThrows(IllegalStateException.class, kept::toFloatArray);
        f.close(); // idempotent
    }

    @Test
    void shardedIndexJoinsShardsAndReportsMissingOrMisplacedOnes() throws Exception {
        String one = "model-00001-of-00002.safetensors";
        String two = "model-00002-of-00002.safetensors";
        try (TensorScope scope = TensorScope.detached()) {
            SafetensorsWriter.write(dir.resolve(one), Map.of("a", Tensor.of(scope, new float[]{1}, 1)), null);
            SafetensorsWriter.write(dir.resolve(two), Map.of("b", Tensor.of(scope, new float[]{2, 3}, 2)), null);
        }
        writeIndex("{\"metadata\":{\"total_size\":12},\"weight_map\":{\"a\":\"" + one + "\",\"b\":\"" + two + "\"}}");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of("a", "b"), ckpt.names());
            assertArrayEquals(new float[]{2, 3}, ckpt.tensor("b").toFloatArray());
            assertEquals(8, ckpt.info("b").byteSize());
            assertTrue(ckpt.contains("a"));
            assertThrows(IllegalArgumentException.class, () -> ckpt.tensor("c"));
        }
        writeIndex("{\"weight_map\":{\"a\":\"" + two + "\",\"b\":\"" + one + "\"}}");
        assertCheckpointProblem("but it is in " + one);
        writeIndex("{\"weight_map\":{\"a\":\"../elsewhere/" + one + "\"}}");
        assertCheckpointProblem("not a file name in the same folder");
        writeIndex("{\"weight_map\":{\"a\":\"" + one + "\",\"b\":\"" + two + "\"}}");
        Files.delete(dir.resolve(two));
        assertCheckpointProblem("missing");
    }

    @Test
    void openingAFolderFindsTheSingleFileOrExplainsWhatIsMissing() throws Exception {
        try (TensorScope scope = TensorScope.detached()) {
            SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("w", Tensor.of(scope, new float[]{5}, 1)), null);
        }
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertEquals(5f, ckpt.tensor("w").toFloatArray()[0]);
        }
        Files.delete(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), "{}");
        assertCheckpointProblem("holds neither model.safetensors nor model.safetensors.index.json");
        assertThrows(NoSuchFileException.class, () -> SafetensorsCheckpoint.open(dir.resolve("absent")));
    }

    @Test
    void refusesPickleCheckpoints() throws Exception {
        Path bin = Files.write(dir.resolve("pytorch_model.bin"), new byte[]{(byte) 0x80, 2});
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("pickle") && e.getMessage().contains("execute")
                && e.getMessage().contains("save_pretrained(dir, safe_serialization=True)"), e.getMessage());
        assertEquals(bin, e.file());
        for (String name : List.of("model.pt", "model.pth")) {
            Path p = Files.write(dir.resolve(name), new byte[]{(byte) 0x80, 2});
            assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p), name);
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporary() throws Exception {
        Path file = dir.resolve("keep.safetensors");
        Tensor closed;
        try (TensorScope scope = TensorScope.detached()) {
            SafetensorsWriter.write(file, Map.of("w", Tensor.of(scope, new float[]{1}, 1)), null);
            closed = Tensor.of(scope, new float[]{2}, 1);
        }
        byte[] before = Files.readAllBytes(file);
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, Map.of("w", closed), null));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var left = Files.list(dir)) {
            assertEquals(List.of(file), left.toList());
        }
    }

    @Test
    void refusesWhatTheFormatCannotHold() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor t = Tensor.of(scope, new float[]{1}, 1);
            Path file = dir.resolve("x.safetensors");
            var meta = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, Map.of("__metadata__", t), null));
            assertTrue(meta.getMessage().contains("rename"), meta.getMessage());
            var nf4 = assertThrows(IllegalArgumentException.class,
                    () -> SafetensorsWriter.write(file, Map.of("q", Tensor.zeros(scope, DType.NF4, Shape.of(4))), null));
            assertTrue(nf4.getMessage().contains("U8"), nf4.getMessage());
        }
    }

    private void writeIndex(String json) throws Exception {
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX), json);
    }

    private void assertCheckpointProblem(String expected) {
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private Path fixture() throws Exception {
        return Path.of(getClass().getResource("/hf-tiny/llama/model.safetensors").toURI());
    }
}
