package dev.finetune4j.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The container and the row encodings against bytes worked out by hand from gguf.h and ggml's block layouts. */
class GgufEncodingTest {
    private static final ModelLayout LAYOUT = new ModelLayout("llama", 2, 4, 2, false);

    @Test
    void q8_0StoresTheScaleAsFloat16AndRoundsHalvesAwayFromZero() {
        float[] block = new float[32];
        block[0] = 2.5f;   // amax 127 -> d = 1, so q = x
        block[1] = -2.5f;  // C's roundf: -3 (Java's Math.round would give -2)
        block[2] = 127f;
        block[3] = 0.49999997f; // stays 0: the largest float below one half
        assertEquals("003c03fd7f00" + "00".repeat(28), hex(GgmlType.Q8_0, block));
    }

    @Test
    void q8_0OfARampMatchesTheHandComputedQuants() {
        float[] ramp = new float[32];
        for (int j = 0; j < 32; j++) {
            ramp[j] = (j - 16) * 0.25f; // amax 4: d = 4/127, x * (1/d) = (j - 16) * 7.9375
        }
        byte[] bytes = encode(GgmlType.Q8_0, ramp);
        assertEquals(Float.floatToFloat16(4f / 127f), ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getShort());
        assertEquals(-127, bytes[2]);
        assertEquals(-119, bytes[3]); // -119.0625
        assertEquals(0, bytes[2 + 16]);
        assertEquals(8, bytes[2 + 17]); // 7.9375
        assertEquals(119, bytes[2 + 31]);
        assertEquals(34, bytes.length);
    }

    @Test
    void aBlockOfZerosHasScaleZeroAndNoNaN() {
        assertEquals("00".repeat(34), hex(GgmlType.Q8_0, new float[32]));
    }

    @Test
    void halfPrecisionTypesRoundToNearestEven() {
        assertEquals("003c5535", hex(GgmlType.F16, new float[] {1f, 1f / 3}));
        // bf16: 1 + 2^-8 is a tie and stays 1 (even); 1 + 3 * 2^-8 is a tie and goes up to 1 + 2^-6
        assertEquals("803f803f823f", hex(GgmlType.BF16, new float[] {1f, 1.00390625f, 1.01171875f}));
        assertEquals("0000803f", hex(GgmlType.F32, new float[] {1f}));
    }

    @Test
    void aQuantizedRowMustBeWholeBlocks() {
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.rowBytes(48));
        assertEquals(GgmlType.F16, GgufType.Q8_0.storageOf("blk.0.ffn_down.weight", new long[] {48, 64}, LAYOUT),
                "a row of 48 falls back to F16, as the converter does");
        assertEquals(GgmlType.F32, GgufType.Q8_0.storageOf("blk.0.attn_norm.weight", new long[] {64}, LAYOUT));
        assertEquals(GgmlType.F32, GgufType.BF16.storageOf("blk.0.attn_q.bias", new long[] {64}, LAYOUT));
        assertEquals(GgmlType.Q8_0, GgufType.Q8_0.storageOf("token_embd.weight", new long[] {64, 100}, LAYOUT));
    }

    /**
     * One uint32 key and one float32 tensor of two values: 24 bytes of header, the key (8 + 1 + 4 + 4), the tensor's
     * info (8 + 1 + 4 + 8 + 4 + 8) end at byte 74, padding to 96, the data, padding to 128.
     */
    @Test
    void theContainerLaysOutHeaderKeysInfosAndAlignedData(@TempDir Path tmp) throws Exception {
        GgufMetadata meta = new GgufMetadata().putUint32("a", 7);
        GgufTensor t = new GgufTensor("t", new long[] {2}, GgmlType.F32, TensorRows.of(new float[] {1f, -2f}));
        Path file = tmp.resolve("x.gguf");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            GgufWriter.write(ch, meta, List.of(t), GgufProgress.NONE);
        }
        String expected = "47475546" + "03000000" + "0100000000000000" + "0100000000000000"
                + "0100000000000000" + "61" + "04000000" + "07000000"
                + "0100000000000000" + "74" + "01000000" + "0200000000000000" + "00000000" + "0000000000000000"
                + "00".repeat(96 - 74)
                + "0000803f" + "000000c0"
                + "00".repeat(128 - 104);
        assertEquals(expected, HexFormat.of().formatHex(Files.readAllBytes(file)));
    }

    /** Two float32 tensors of 2 and 3 values: 8 and 12 bytes, each padded to 32. */
    @Test
    void progressIsToldAfterEachTensorWithTheBytesWrittenPaddingIncluded(@TempDir Path tmp) throws Exception {
        List<String> told = new ArrayList<>();
        List<GgufTensor> tensors = List.of(
                new GgufTensor("a", new long[] {2}, GgmlType.F32, TensorRows.of(new float[] {1f, 2f})),
                new GgufTensor("b", new long[] {3}, GgmlType.F32, TensorRows.of(new float[] {1f, 2f, 3f})));
        try (FileChannel ch = FileChannel.open(tmp.resolve("x.gguf"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            GgufWriter.write(ch, new GgufMetadata(), tensors,
                    (done, total, bytes, totalBytes) -> told.add(done + "/" + total + " " + bytes + "/" + totalBytes));
        }
        assertEquals(List.of("1/2 32/64", "2/2 64/64"), told);
    }

    @Test
    void namesAndShapesGgmlCannotHoldAreRefused() {
        String name = "blk.0." + "x".repeat(57) + ".weight"; // 6 + 57 + 7 = 70 bytes
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GgufTensor(name, new long[] {4}, GgmlType.F32, TensorRows.of(new float[4])));
        assertTrue(e.getMessage().contains("at most 63"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new GgufTensor("t", new long[] {2, 0}, GgmlType.F32, TensorRows.of(new float[2])));
        assertThrows(IllegalStateException.class, () -> new GgufMetadata().putBool("k", true).putBool("k", false));
    }

    @Test
    void rowsThatDoNotAddUpToTheShapeFailTheWrite(@TempDir Path tmp) throws Exception {
        GgufTensor t = new GgufTensor("t", new long[] {2, 3}, GgmlType.F32, TensorRows.of(new float[] {1f, 2f}));
        try (FileChannel ch = FileChannel.open(tmp.resolve("x.gguf"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> GgufWriter.write(ch, new GgufMetadata(), List.of(t), GgufProgress.NONE));
            assertTrue(e.getMessage().contains("gave 1 rows"), e.getMessage());
        }
    }

    private static String hex(GgmlType type, float[] row) {
        return HexFormat.of().formatHex(encode(type, row));
    }

    private static byte[] encode(GgmlType type, float[] row) {
        ByteBuffer out = ByteBuffer.allocate((int) type.rowBytes(row.length)).order(ByteOrder.LITTLE_ENDIAN);
        type.encodeRow(row, out);
        assertEquals(out.capacity(), out.position(), "rowBytes is what encodeRow writes");
        return out.array();
    }
}
