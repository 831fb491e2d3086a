package dev.finetune4j.core.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes tensors of any safetensors dtype as one safetensors file: names sorted, header padded with spaces to a
 * multiple of 8 bytes as the reference writer does, data contiguous in name order. The file is written through
 * {@link AtomicFile}, so a crash leaves either the old file or the complete new one, never half of one.
 *
 * <pre>{@code
 * SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), model.stateDict(), Map.of("format", "pt"));
 * }</pre>
 *
 * <p>Thread safety: stateless; concurrent writes to different files are fine, to the same file the last rename
 * wins. Tensors must not be modified while being written.
 */
public final class SafetensorsWriter {
    /** Bytes handed to the channel per write call (a ByteBuffer holds at most 2 GiB). */
    private static final long CHUNK = 64L << 20;

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} (any layout: views are written in row-major order) and optional string
     * {@code metadata} (may be null) to {@code file}, replacing it atomically (also on a thread whose interrupt flag is
     * set: {@link InterruptSafe}).
     *
     * @param file the target file
     * @param tensors  name to tensor; the data is laid out in name order
     * @param metadata string metadata for the header, or null
     * @throws IllegalArgumentException for a name the format cannot hold ({@code __metadata__}, empty) or an
     *                                  {@link DType#NF4} tensor, which has no safetensors dtype
     * @throws IOException              when writing fails; the target is then left as it was
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        InterruptSafe.call(() -> {
            writeAtomically(file, tensors, metadata);
            return null;
        });
    }

    private static void writeAtomically(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        byte[] header = header(sorted, metadata == null ? Map.of() : metadata);
        Files.createDirectories(file.toAbsolutePath().getParent());
        AtomicFile.write(file, ch -> {
            writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip());
            writeFully(ch, ByteBuffer.wrap(header));
            for (Tensor t : sorted.values()) {
                writeData(ch, t);
            }
        });
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes. */
    private static byte[] header(Map<String, Tensor> sorted, Map<String, String> metadata) throws IOException {
        ObjectNode header = SafetensorsHeader.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(SafetensorsHeader.METADATA_KEY);
            for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                if (m.getValue() == null) {
                    throw new IllegalArgumentException("metadata '" + m.getKey() + "' is null; safetensors metadata values are strings");
                }
                meta.put(m.getKey(), m.getValue());
            }
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            check(e.getKey(), t);
            long bytes = t.dtype().bytesFor(t.numel());
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            Arrays.stream(t.shape().dims()).forEach(shape::add);
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = SafetensorsHeader.JSON.writeValueAsBytes(header);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void check(String name, Tensor t) {
        if (name.isEmpty() || name.equals(SafetensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("'" + name + "' cannot name a tensor in a safetensors file; rename it");
        }
        if (t == null) {
            throw new IllegalArgumentException("tensor '" + name + "' is null");
        }
        if (t.dtype() == DType.NF4) {
            throw new IllegalArgumentException("tensor '" + name + "' is NF4, which safetensors has no dtype for; store the packed "
                    + "bytes as a U8 tensor and the logical shape and quantization state beside it (as bitsandbytes does)");
        }
    }

    /**
     * Row-major little-endian bytes of {@code t}; views that are not contiguous, and tensors of other devices, are
     * copied to the host first.
     */
    private static void writeData(FileChannel ch, Tensor t) throws IOException {
        long bytes = t.dtype().bytesFor(t.numel());
        if (t.isContiguous() && t.device().isCpu()) {
            writeFully(ch, t.hostSegment().asSlice(t.dtype().bytesFor(t.offset()), bytes));
            return;
        }
        try (TensorScope scratch = TensorScope.detached()) {
            writeFully(ch, t.copyTo(Device.cpu(), scratch).hostSegment().asSlice(0, bytes));
        }
    }

    private static void writeFully(FileChannel ch, MemorySegment bytes) throws IOException {
        for (long pos = 0; pos < bytes.byteSize(); pos += CHUNK) {
            MemorySegment chunk = bytes.asSlice(pos, Math.min(CHUNK, bytes.byteSize() - pos));
            // NOTE: a heap segment over a float[] (op results live on the heap) has no ByteBuffer view
            writeFully(ch, chunk.isNative() ? chunk.asByteBuffer() : ByteBuffer.wrap(chunk.toArray(ValueLayout.JAVA_BYTE)));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
