package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adapter-sized safetensors files (8-byte little-endian header length, JSON header, raw data), read whole:
 * PEFT adapters are megabytes, not gigabytes. Every header entry is validated (dtype, shape against byte range,
 * ranges inside the file) so that a truncated or corrupt download fails with the tensor's name.
 *
 * <p>Thread safety: stateless; safe from any thread.
 */
final class AdapterWeights {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String METADATA = "__metadata__";
    private static final long MAX_HEADER = 100L << 20;

    private AdapterWeights() {
    }

    /**
     * Every tensor of {@code file} in header order, copied into {@code scope} in its stored dtype.
     *
     * @throws PeftException when the file is missing, truncated or its header is malformed
     */
    static Map<String, Tensor> read(Path file, TensorScope scope) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new PeftException("missing adapter weights " + file + ": an adapter folder holds adapter_config.json "
                    + "and adapter_model.safetensors (PyTorch .bin adapters are refused: re-save with safe_serialization=True)");
        } catch (IOException e) {
            throw new PeftException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length < 8) {
            throw new PeftException(file + " is " + bytes.length + " bytes long, too short for a safetensors header; the file is truncated");
        }
        long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
            throw new PeftException(file + ": header length " + headerLen + " does not fit a file of " + bytes.length
                    + " bytes; the file is truncated or not safetensors");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new PeftException(file + ": the safetensors header is not valid JSON (" + e.getMessage() + "); the file is corrupt", e);
        }
        long dataStart = 8 + headerLen;
        Map<String, Tensor> out = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = header.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals(METADATA)) {
                out.put(e.getKey(), tensor(file, e.getKey(), e.getValue(), bytes, dataStart, scope));
            }
        }
        return out;
    }

    private static Tensor tensor(Path file, String name, JsonNode entry, byte[] bytes, long dataStart, TensorScope scope) {
        DType dtype;
        try {
            dtype = DType.fromSafetensors(entry.path("dtype").asText());
        } catch (IllegalArgumentException e) {
            throw new PeftException(file + ": tensor '" + name + "': " + e.getMessage());
        }
        JsonNode shapeNode = entry.path("shape");
        int[] dims = new int[shapeNode.size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shapeNode.get(i).asInt();
        }
        Shape shape = Shape.of(dims);
        long begin = entry.path("data_offsets").path(0).asLong(-1);
        long end = entry.path("data_offsets").path(1).asLong(-1);
        if (begin < 0 || end < begin || dataStart + end > bytes.length || end - begin != dtype.bytesFor(shape.numel())) {
            throw new PeftException(file + ": tensor '" + name + "' " + dtype + shape + " has data offsets [" + begin
                    + ", " + end + "] that do not fit its size or the file (" + bytes.length + " bytes); the file is truncated or corrupt");
        }
        Tensor t = Tensor.zeros(scope, dtype, shape);
        MemorySegment.copy(MemorySegment.ofArray(bytes), dataStart + begin, t.storage(), 0, end - begin);
        return t;
    }

    /** Writes float32 tensors (converted from any dtype) in map order with {"format": "pt"} metadata, as PEFT does. */
    static void write(Path file, Map<String, Tensor> tensors) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject(METADATA).put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long size = e.getValue().numel() * Float.BYTES;
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            for (int d : e.getValue().shape().dims()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] head = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (head.length + 7) / 8 * 8; // 8-byte alignment of the data, padded with spaces as safetensors does
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(head);
            out.write(" ".repeat(padded - head.length).getBytes(StandardCharsets.US_ASCII));
            for (Tensor t : tensors.values()) {
                float[] v = t.toFloatArray();
                ByteBuffer buf = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(v);
                out.write(buf.array());
            }
        } catch (IOException e) {
            throw new PeftException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Copies {@code src} (any float dtype) into the float32 tensor {@code dst} of the same shape. */
    static void copyInto(Tensor src, Tensor dst) {
        float[] v = src.toFloatArray();
        MemorySegment.copy(v, 0, dst.storage(), ValueLayout.JAVA_FLOAT_UNALIGNED, dst.offset() * Float.BYTES, v.length);
    }
}
