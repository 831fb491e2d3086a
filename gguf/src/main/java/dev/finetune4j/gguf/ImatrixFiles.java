package dev.finetune4j.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads llama.cpp's importance matrix files (what {@code common_imatrix_load} in common/imatrix-loader.cpp reads): the
 * GGUF format ({@code <name>.in_sum2} and {@code <name>.counts} float32 tensors, one row of sums and one count per
 * matrix, so a mixture's stacked {@code ffn_*_exps} has one per expert; {@code imatrix.chunk_count} and
 * {@code imatrix.chunk_size}) and the legacy {@code .dat} one (per entry a name, a call count and the values, which
 * are the sums scaled by calls / tokens, every expert's run after the other under the one call count). Sizes in the
 * file are checked against the bytes that are there.
 */
final class ImatrixFiles {
    private static final int GGUF_MAGIC = 0x46554747;
    /** Larger files are not importance matrices: a 70B model's is about 2 MB. */
    private static final long MAX_BYTES = 1L << 30;

    private ImatrixFiles() {
    }

    /**
     * What a file holds.
     *
     * @param sums       each entry's sums of squares, the matrices' runs one after the other
     * @param counts     each entry's tokens per matrix (one per expert of a stacked tensor), or one count for all
     * @param chunkCount the calibration chunks (sequences)
     * @param chunkSize  the tokens of a chunk
     */
    record Contents(Map<String, float[]> sums, Map<String, long[]> counts, int chunkCount, int chunkSize) {
    }

    static Contents read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new IllegalArgumentException(file + " has " + size + " bytes: not an importance matrix file");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the importance matrix " + file + ": " + e.getMessage(), e);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            return bytes.length >= 4 && in.getInt(0) == GGUF_MAGIC ? gguf(in, file) : legacy(in, file);
        } catch (BufferUnderflowException | IllegalArgumentException | ArithmeticException e) {
            throw new IllegalArgumentException(file + " is not an importance matrix file of llama.cpp's (GGUF imatrix "
                    + "or legacy .dat) nor one ImportanceMatrix.save wrote: " + e.getMessage()
                    + "; collect the matrix again (ImportanceMatrix.collect)", e);
        }
    }

    /** The GGUF format: header, key/value pairs (only the chunk keys kept), tensor infos, aligned data. */
    private static Contents gguf(ByteBuffer in, Path file) {
        in.position(4);
        int version = in.getInt();
        if (version != 3) {
            throw new IllegalArgumentException("GGUF version " + version + " (3 is read)");
        }
        long tensors = in.getLong();
        long keys = in.getLong();
        int chunkCount = 0;
        int chunkSize = 0;
        int alignment = GgufWriter.ALIGNMENT;
        for (long k = 0; k < keys; k++) {
            String key = string(in);
            int type = in.getInt();
            if (key.equals("imatrix.chunk_count") && type == GgufMetadata.UINT32) {
                chunkCount = in.getInt();
            } else if (key.equals("imatrix.chunk_size") && type == GgufMetadata.UINT32) {
                chunkSize = in.getInt();
            } else if (key.equals("general.alignment") && type == GgufMetadata.UINT32) {
                alignment = in.getInt();
            } else {
                skipValue(in, type);
            }
        }
        Map<String, long[]> infos = new LinkedHashMap<>(); // name -> {elements, offset}
        for (long t = 0; t < tensors; t++) {
            String name = string(in);
            int dims = in.getInt();
            long elements = 1;
            for (int d = 0; d < dims; d++) {
                elements = Math.multiplyExact(elements, in.getLong());
            }
            int type = in.getInt();
            if (type != GgmlType.F32.id()) {
                throw new IllegalArgumentException("tensor '" + name + "' is of ggml type " + type + ", not F32");
            }
            infos.put(name, new long[] {elements, in.getLong()});
        }
        long data = (in.position() + alignment - 1L) / alignment * alignment;
        Map<String, float[]> sums = new LinkedHashMap<>();
        Map<String, long[]> counts = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : infos.entrySet()) {
            if (!e.getKey().endsWith(".in_sum2")) {
                continue;
            }
            String name = e.getKey().substring(0, e.getKey().length() - ".in_sum2".length());
            long[] count = infos.get(name + ".counts");
            if (count == null || count[0] == 0 || e.getValue()[0] % count[0] != 0) {
                throw new IllegalArgumentException("'" + name + "' has " + e.getValue()[0] + " sums and "
                        + (count == null ? "no counts" : count[0] + " counts") + "; it needs one count per row of sums");
            }
            sums.put(name, floats(in, data + e.getValue()[1], e.getValue()[0]));
            float[] tokens = floats(in, data + count[1], count[0]);
            long[] rounded = new long[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                rounded[i] = Math.round(tokens[i]); // common_imatrix_load's lround
            }
            counts.put(name, rounded);
        }
        if (sums.isEmpty()) {
            throw new IllegalArgumentException("no <name>.in_sum2 tensor in " + file);
        }
        return new Contents(sums, counts, chunkCount, chunkSize);
    }

    /** The legacy format: entries of name, calls and values (sums x calls / tokens), then the last call. */
    private static Contents legacy(ByteBuffer in, Path file) {
        int entries = in.getInt();
        if (entries <= 0 || entries > in.remaining() / 12) {
            throw new IllegalArgumentException("it claims " + entries + " entries");
        }
        Map<String, float[]> sums = new LinkedHashMap<>();
        Map<String, long[]> counts = new LinkedHashMap<>();
        for (int i = 0; i < entries; i++) {
            int length = in.getInt();
            if (length <= 0 || length > in.remaining()) {
                throw new IllegalArgumentException("entry " + i + " claims a name of " + length + " bytes");
            }
            byte[] name = new byte[length];
            in.get(name);
            int calls = in.getInt();
            int values = in.getInt();
            if (values <= 0 || values > in.remaining() / 4) {
                throw new IllegalArgumentException("entry " + i + " claims " + values + " values");
            }
            float[] v = floats(in, in.position(), values);
            in.position(in.position() + 4 * values);
            // llama-quantize divides the values by the calls (every expert's alike, an expert no token reached
            // stored as ones times the calls): keep them as sums over that many "tokens"
            sums.put(new String(name, StandardCharsets.UTF_8), v);
            counts.put(new String(name, StandardCharsets.UTF_8), new long[] {Math.max(calls, 1)});
        }
        int chunks = in.remaining() >= 4 ? in.getInt() : 0; // optional: the chunks run (then the dataset's name)
        return new Contents(sums, counts, chunks, 0);
    }

    private static float[] floats(ByteBuffer in, long at, long n) {
        if (at < 0 || n < 0 || at + 4 * n > in.limit()) {
            throw new IllegalArgumentException(n + " floats at byte " + at + " run past the file's " + in.limit());
        }
        float[] out = new float[Math.toIntExact(n)];
        in.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(Math.toIntExact(at)).asFloatBuffer().get(out);
        return out;
    }

    private static String string(ByteBuffer in) {
        long length = in.getLong();
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("a string of " + length + " bytes at byte " + in.position());
        }
        byte[] bytes = new byte[(int) length];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Skips one GGUF value of {@code type} (gguf.h's gguf_type). */
    private static void skipValue(ByteBuffer in, int type) {
        switch (type) {
            case 0, 1, 7 -> in.position(in.position() + 1);
            case 2, 3 -> in.position(in.position() + 2);
            case 4, 5, 6 -> in.position(in.position() + 4);
            case 10, 11, 12 -> in.position(in.position() + 8);
            case GgufMetadata.STRING -> string(in);
            case GgufMetadata.ARRAY -> {
                int elementType = in.getInt();
                long n = in.getLong();
                if (n < 0 || n > in.remaining()) {
                    throw new IllegalArgumentException("an array of " + n + " elements at byte " + in.position());
                }
                for (long i = 0; i < n; i++) {
                    skipValue(in, elementType);
                }
            }
            default -> throw new IllegalArgumentException("unknown GGUF value type " + type);
        }
    }
}
