package dev.finetune4j.core.io;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file: the header is validated strictly on open, tensors are zero-copy views of
 * the mapping (files over 2 GiB included), and closing the file unmaps it, after which its tensors throw.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(Path.of("model.safetensors"))) {
 *     Tensor w = f.tensor("lm_head.weight");
 * }
 * }</pre>
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of JSON ({@code name -> {dtype, shape,
 * data_offsets}} plus optional {@code __metadata__}), then the data. Thread-safe for reading.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers above this size are refused (as the reference implementation does). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> infos;
    private final Map<String, String> metadata;
    private final TensorScope views = TensorScope.detached();

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> infos, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.infos = infos;
        this.metadata = metadata;
    }

    /**
     * Maps and validates a file.
     *
     * @throws SafetensorsFormatException naming the file and what is wrong with it
     */
    public static SafetensorsFile open(Path path) throws IOException {
        PickleGuard.refuse(path);
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path, "file of " + size + " bytes is too short to hold the 8-byte header length (truncated download?)");
            }
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(path, "header length " + headerLen + " is over the " + MAX_HEADER_BYTES + "-byte limit (not a safetensors file, or corrupt)");
            }
            if (8 + headerLen > size) {
                throw new SafetensorsFormatException(path, "header length " + headerLen + " runs past the end of the " + size + "-byte file (truncated?)");
            }
            byte[] header = whole.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = whole.asSlice(8 + headerLen);
            Map<String, String> meta = new LinkedHashMap<>();
            Map<String, TensorInfo> infos = parseHeader(path, header, data.byteSize(), meta);
            return new SafetensorsFile(path, arena, data, infos, meta);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path path, byte[] header, long dataSize, Map<String, String> meta) throws SafetensorsFormatException {
        JsonNode root;
        try {
            root = JSON.readTree(new String(header, StandardCharsets.UTF_8).trim());
        } catch (JsonParseException e) {
            String why = e.getOriginalMessage().contains("Duplicate field") ? "duplicate tensor name: " + e.getOriginalMessage() : "invalid JSON header: " + e.getOriginalMessage();
            throw new SafetensorsFormatException(path, why);
        } catch (IOException e) {
            throw new SafetensorsFormatException(path, "invalid JSON header: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(path, "the header is not a JSON object");
        }
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().properties().forEach(m -> meta.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            infos.put(e.getKey(), entry(path, e.getKey(), e.getValue(), dataSize));
        }
        checkOverlaps(path, infos);
        return Collections.unmodifiableMap(infos);
    }

    private static TensorInfo entry(Path path, String name, JsonNode node, long dataSize) throws SafetensorsFormatException {
        String where = "tensor '" + name + "'";
        DType dtype;
        try {
            dtype = DType.fromSafetensors(node.path("dtype").asText());
        } catch (IllegalArgumentException ex) {
            throw new SafetensorsFormatException(path, where + ": " + ex.getMessage());
        }
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new SafetensorsFormatException(path, where + ": needs a 'shape' array and a two-element 'data_offsets' array");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new SafetensorsFormatException(path, where + ": negative or non-numeric size in shape " + shapeNode);
            }
            numel = Math.multiplyExact(numel, shape[i]);
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataSize) {
            throw new SafetensorsFormatException(path, where + ": data_offsets [" + begin + ", " + end + "] are outside the data section of " + dataSize + " bytes");
        }
        if (end - begin != dtype.bytesFor(numel)) {
            throw new SafetensorsFormatException(path, where + ": " + (end - begin) + " bytes do not match " + dtype + " x shape " + Arrays.toString(shape) + " = " + dtype.bytesFor(numel) + " bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkOverlaps(Path path, Map<String, TensorInfo> infos) throws SafetensorsFormatException {
        List<TensorInfo> sorted = new ArrayList<>(infos.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo prev = sorted.get(i - 1);
            TensorInfo cur = sorted.get(i);
            if (cur.begin() < prev.end() && cur.end() > cur.begin()) {
                throw new SafetensorsFormatException(path, "tensors '" + prev.name() + "' and '" + cur.name() + "' overlap (bytes " + cur.begin() + " to " + prev.end() + ")");
            }
        }
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(infos.keySet());
    }

    /** Header entry of {@code name}, or null when absent. */
    public TensorInfo info(String name) {
        return infos.get(name);
    }

    /** {@code __metadata__} of the header (empty when absent). */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * A zero-copy view of tensor {@code name}, valid until this file is closed.
     *
     * @throws IllegalArgumentException listing a few of the available names when absent
     */
    public Tensor tensor(String name) {
        TensorInfo info = infos.get(name);
        if (info == null) {
            List<String> some = names().subList(0, Math.min(10, infos.size()));
            throw new IllegalArgumentException(path + " has no tensor '" + name + "'; it has " + infos.size() + " tensors, e.g. " + some);
        }
        return Tensor.wrap(views, data.asSlice(info.begin(), info.end() - info.begin()), info.dtype(), Shape.of(info.shape()));
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        views.close();
        arena.close();
    }
}
