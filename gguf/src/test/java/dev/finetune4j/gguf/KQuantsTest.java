package dev.finetune4j.gguf;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The block encoders against ggml's own quantizers: tools/reference/kquant_rows.py wrote 16 rows of 512 values that
 * probe the edge cases (zero, constant, one-signed, sparse, outlier, sub-EPS, tied, large and bf16 rows), and
 * tools/reference/ggml_quantize_rows.c quantized them with llama.cpp's ggml ({@code ggml_quantize_chunk}, no
 * importance matrix) and dequantized the result. Every byte must match, and {@link GgmlDecoder} must read ggml's
 * values back exactly. The same rows quantized under an importance matrix (512 column weights, a few of them 0,
 * {@code imatrix.f32}) give the weighted quantizers' bytes ({@code <type>.imatrix.bin}). The I-quants' rows come from
 * ggml's {@code quantize_iq3_s}, {@code quantize_iq4_nl} and {@code quantize_iq4_xs}, which llama-quantize calls with
 * and without a matrix.
 */
class KQuantsTest {
    private static final int ROW = 512;

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "Q8_0",
            "IQ3_S", "IQ4_NL", "IQ4_XS"})
    void encodesEveryRowAsGgmlDoes(GgmlType type) throws IOException {
        assertEncodesAsGgml(type, null, name(type) + ".bin");
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "IQ3_S",
            "IQ4_NL", "IQ4_XS"})
    void encodesEveryRowUnderAnImportanceMatrixAsGgmlDoes(GgmlType type) throws IOException {
        assertEncodesAsGgml(type, floats("imatrix.f32"), name(type) + ".imatrix.bin");
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "IQ3_S",
            "IQ4_NL", "IQ4_XS"})
    void anImportanceMatrixChangesTheBlocks(GgmlType type) throws IOException {
        // the weighted quantizers are not the reference ones under another name
        byte[] plain = resource(name(type) + ".bin");
        byte[] weighted = resource(name(type) + ".imatrix.bin");
        int differing = 0;
        for (int i = 0; i < plain.length; i++) {
            differing += plain[i] != weighted[i] ? 1 : 0;
        }
        assertTrue(differing > plain.length / 10, type + ": only " + differing + " bytes differ");
    }

    private static void assertEncodesAsGgml(GgmlType type, float[] importance, String fixture) throws IOException {
        float[] rows = floats("rows.f32");
        byte[] expected = resource(fixture);
        int rowBytes = (int) type.rowBytes(ROW);
        assertEquals(expected.length, rows.length / ROW * rowBytes, "fixture size");
        float[] row = new float[ROW];
        for (int r = 0; r < rows.length / ROW; r++) {
            System.arraycopy(rows, r * ROW, row, 0, ROW);
            ByteBuffer out = ByteBuffer.allocate(rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            type.encodeRow(row, importance, out);
            assertEquals(rowBytes, out.position(), "rowBytes is what encodeRow writes");
            byte[] theirs = new byte[rowBytes];
            System.arraycopy(expected, r * rowBytes, theirs, 0, rowBytes);
            assertArrayEquals(theirs, out.array(), type + " row " + r + ": bytes differ from ggml's");
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "Q8_0",
            "IQ3_S", "IQ4_NL", "IQ4_XS"})
    void decodesAsGgmlDoes(GgmlType type) throws IOException {
        assertDecodesAsGgml(type, name(type));
        if (type != GgmlType.Q8_0) {
            assertDecodesAsGgml(type, name(type) + ".imatrix");
        }
    }

    private static void assertDecodesAsGgml(GgmlType type, String fixture) throws IOException {
        float[] expected = floats(fixture + ".f32");
        ByteBuffer blocks = ByteBuffer.wrap(resource(fixture + ".bin")).order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[expected.length];
        for (int r = 0; r < expected.length / ROW; r++) {
            GgmlDecoder.decode(type, blocks, decoded, r * ROW, ROW);
        }
        assertArrayEquals(expected, decoded, fixture + ": decoded values differ from ggml's");
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ3_S", "IQ4_NL", "IQ4_XS"})
    void roundTripErrorStaysWithinTheBlockScales(GgmlType type) throws IOException {
        // a property independent of ggml: on Gaussian weights (row 1) the decoded values stay within a few percent
        float[] rows = floats("rows.f32");
        float[] row = new float[ROW];
        System.arraycopy(rows, ROW, row, 0, ROW);
        ByteBuffer out = ByteBuffer.allocate((int) type.rowBytes(ROW)).order(ByteOrder.LITTLE_ENDIAN);
        type.encodeRow(row, out);
        float[] decoded = new float[ROW];
        GgmlDecoder.decode(type, out.flip(), decoded, 0, ROW);
        double err = 0;
        double norm = 0;
        for (int i = 0; i < ROW; i++) {
            err += (decoded[i] - row[i]) * (decoded[i] - row[i]);
            norm += row[i] * row[i];
        }
        double relative = Math.sqrt(err / norm);
        double bound = switch (type) {
            case Q3_K, IQ3_S -> 0.25;
            case Q4_K, IQ4_NL, IQ4_XS -> 0.12;
            case Q5_K -> 0.06;
            default -> 0.03;
        };
        assertEquals(0, relative, bound, type + " relative RMS error " + relative);
    }

    private static String name(GgmlType type) {
        return type.name().endsWith("_K") ? type.name().toLowerCase().replace("_k", "_K") : type.name().toLowerCase();
    }

    static float[] floats(String name) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(resource(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(out);
        return out;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = KQuantsTest.class.getResourceAsStream("/kquants/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource /kquants/" + name);
            }
            return in.readAllBytes();
        }
    }
}
