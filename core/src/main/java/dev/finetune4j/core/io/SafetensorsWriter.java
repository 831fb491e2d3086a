package dev.finetune4j.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes tensors of any dtype as one safetensors file: names sorted, header padded with spaces to a multiple
 * of 8 bytes as the reference writer does, data contiguous. The bytes go to a temporary file in the same
 * folder, which is forced to disk and atomically renamed, so a crash never leaves a half-written file.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {
    }

    /** Writes {@code tensors} (and optional string metadata) to {@code file}. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            long bytes = t.dtype().bytesFor(t.numel());
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape().dims()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = json.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8;
        byte[] h = new byte[padded];
        System.arraycopy(headerBytes, 0, h, 0, headerBytes.length);
        for (int i = headerBytes.length; i < padded; i++) {
            h[i] = ' ';
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).flip();
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(h));
            for (Tensor t : sorted.values()) {
                writeFully(ch, bytesOf(t));
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Row-major little-endian bytes of a tensor (contiguous views are copied directly). */
    private static ByteBuffer bytesOf(Tensor t) {
        long bytes = t.dtype().bytesFor(t.numel());
        if (t.isContiguous()) {
            long start = t.dtype().bytesFor(t.offset());
            return t.storage().asSlice(start, bytes).asByteBuffer();
        }
        Tensor copy = t.convertTo(t.dtype(), dev.finetune4j.core.tensor.TensorScope.detached());
        MemorySegment seg = MemorySegment.ofArray(new byte[(int) bytes]);
        MemorySegment.copy(copy.storage(), 0, seg, 0, bytes);
        copy.scope().close();
        return seg.asByteBuffer();
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
