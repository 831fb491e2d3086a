package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Float32 tensors by name in the safetensors layout (8-byte little-endian header length, JSON header, data),
 * for the trainer's own checkpoint files: optimizer moments are written as rank-1 tensors, adapter weights are
 * read back flat. Files are small (adapter-sized), so they are read whole.
 */
final class TensorFiles {
    static final String ADAPTER_FILE = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String METADATA = "__metadata__";

    private TensorFiles() {
    }

    /** Every F32 tensor of the file, flattened, by name. */
    static Map<String, float[]> read(Path file) {
        Parsed p = parse(file);
        Map<String, float[]> out = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = p.header.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA)) {
                continue;
            }
            String dtype = e.getValue().path("dtype").asText();
            if (!dtype.equals("F32")) {
                throw new IllegalArgumentException(file + ": tensor '" + e.getKey() + "' is " + dtype
                        + "; trainer checkpoints hold float32 tensors only");
            }
            long begin = e.getValue().path("data_offsets").path(0).asLong();
            long end = e.getValue().path("data_offsets").path(1).asLong();
            if (begin < 0 || end < begin || p.dataStart + end > p.bytes.length || (end - begin) % Float.BYTES != 0) {
                throw new IllegalArgumentException(file + ": tensor '" + e.getKey() + "' has bad data offsets ["
                        + begin + ", " + end + "]; the file is truncated or corrupt");
            }
            float[] values = new float[(int) ((end - begin) / Float.BYTES)];
            ByteBuffer.wrap(p.bytes, (int) (p.dataStart + begin), (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer().get(values);
            out.put(e.getKey(), values);
        }
        return out;
    }

    /** The header's {@code __metadata__} strings. */
    static Map<String, String> metadata(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        parse(file).header.path(METADATA).properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    /** Writes rank-1 F32 tensors in map order with string metadata. */
    static void write(Path file, Map<String, float[]> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject(METADATA);
        metadata.forEach(meta::put);
        long offset = 0;
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            long size = (long) e.getValue().length * Float.BYTES;
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            t.putArray("shape").add(e.getValue().length);
            t.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // the format pads the header with spaces to 8 bytes
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
            for (float[] values : tensors.values()) {
                ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(values);
                out.write(b.array());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private record Parsed(JsonNode header, byte[] bytes, long dataStart) {
    }

    private static Parsed parse(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length < 8) {
            throw new IllegalArgumentException(file + " is not a safetensors file: " + bytes.length + " bytes");
        }
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || 8 + headerLength > bytes.length) {
            throw new IllegalArgumentException(file + ": header length " + headerLength + " does not fit the file of "
                    + bytes.length + " bytes; the file is truncated or corrupt");
        }
        try {
            JsonNode header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
            return new Parsed(header, bytes, 8 + headerLength);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": the header is not valid JSON: " + e.getMessage(), e);
        }
    }
}
