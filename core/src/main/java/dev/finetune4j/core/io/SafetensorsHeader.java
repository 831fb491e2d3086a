package dev.finetune4j.core.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.finetune4j.core.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validated JSON header of a safetensors file: {@code name -> {dtype, shape, data_offsets}} plus an
 * optional {@code __metadata__} object of strings.
 *
 * <p>Checks, each failing with a {@link SafetensorsFormatException} that names the file: valid UTF-8, one JSON
 * object and nothing after it, no duplicate names, known dtypes, integral non-negative shapes and offsets,
 * offsets inside the data section, byte lengths equal to dtype x shape, no two tensors sharing a byte. Gaps
 * between tensors are allowed (they are harmless padding).
 *
 * @param tensors  entries in header order
 * @param metadata the {@code __metadata__} strings (empty when absent)
 */
record SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    /** Headers above this size are refused, as the reference implementation does. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    static final String METADATA_KEY = "__metadata__";
    /** Tensors one header may list: far more than any checkpoint file holds, few enough to bound the heap. */
    static final int MAX_TENSORS = 1 << 18;

    /** Strict JSON: duplicate keys and trailing content are errors; strings may be as long as a header. */
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength((int) MAX_HEADER_BYTES).build())
            .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** The header's entries, read one after the other from one stream (the parse checks what follows the object). */
    private static final ObjectReader ENTRIES = JSON.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * Parses and validates {@code header} against a data section of {@code dataSize} bytes. The header is read as a
     * stream of entries, each entry's small object as a tree: a whole-header tree of a header near the 100 MB limit
     * took over a gigabyte of heap.
     */
    static SafetensorsHeader parse(Path file, byte[] header, long dataSize) throws SafetensorsFormatException {
        requireUtf8(file, header);
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        try (JsonParser p = ENTRIES.createParser(header)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new SafetensorsFormatException(file, "the header is not a JSON object (not a safetensors file)");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                JsonNode value = ENTRIES.readTree(p);
                if (name.equals(METADATA_KEY)) {
                    readMetadata(file, value, metadata);
                } else if (tensors.size() == MAX_TENSORS) {
                    throw new SafetensorsFormatException(file, "the header lists more than " + MAX_TENSORS + " tensors;"
                            + " checkpoints hold a few thousand per file (corrupt or hostile file; download it again)");
                } else {
                    tensors.put(name, entry(file, name, value, dataSize));
                }
            }
            if (p.nextToken() != null) {
                throw new SafetensorsFormatException(file, "invalid JSON header: content after the header's object"
                        + " (corrupt file; write it again or download it again)");
            }
        } catch (SafetensorsFormatException e) {
            throw e; // an entry's own check, already naming the file
        } catch (StreamReadException e) {
            String why = e.getOriginalMessage().startsWith("Duplicate field")
                    ? "duplicate tensor name in the header: " + e.getOriginalMessage()
                    : "invalid JSON header: " + e.getOriginalMessage();
            throw new SafetensorsFormatException(file, why + " (corrupt file; write it again or download it again)");
        } catch (IOException e) {
            throw new SafetensorsFormatException(file, "invalid JSON header: " + e.getMessage());
        }
        checkOverlaps(file, tensors.values());
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    /** Checks that the header is UTF-8, a few kilobytes at a time (a decoded copy of it would be twice its size). */
    private static void requireUtf8(Path file, byte[] header) throws SafetensorsFormatException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(header);
        CharBuffer out = CharBuffer.allocate(8192);
        CoderResult result;
        do {
            out.clear();
            result = decoder.decode(in, out, true);
        } while (result.isOverflow());
        if (result.isError() || decoder.flush(out.clear()).isError()) {
            throw new SafetensorsFormatException(file, "the header is not valid UTF-8 (not a safetensors file, or corrupt)");
        }
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> into) throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(file, METADATA_KEY + " must be an object of strings, found " + node.getNodeType());
        }
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw new SafetensorsFormatException(file, METADATA_KEY + " value '" + m.getKey() + "' must be a string, found "
                        + m.getValue().getNodeType() + " (the format allows only string metadata)");
            }
            into.put(m.getKey(), m.getValue().asText());
        }
    }

    private static TensorInfo entry(Path file, String name, JsonNode node, long dataSize) throws SafetensorsFormatException {
        String where = "tensor '" + name + "'";
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!node.isObject() || !node.path("dtype").isTextual() || !shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new SafetensorsFormatException(file, where + ": the entry needs a 'dtype' string, a 'shape' array and a "
                    + "two-element 'data_offsets' array, found " + node);
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensors(node.get("dtype").asText());
        } catch (IllegalArgumentException ex) {
            throw new SafetensorsFormatException(file, where + ": " + ex.getMessage()
                    + " (convert the checkpoint to one of these in Python, e.g. model.to(torch.bfloat16).save_pretrained(dir))");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(file, where, "shape " + shapeNode, shapeNode.get(i));
        }
        long begin = nonNegativeLong(file, where, "data_offsets " + offsets, offsets.get(0));
        long end = nonNegativeLong(file, where, "data_offsets " + offsets, offsets.get(1));
        if (end < begin || end > dataSize) {
            throw new SafetensorsFormatException(file, where + ": data_offsets [" + begin + ", " + end + "] are outside the data "
                    + "section of " + dataSize + " bytes (truncated or corrupt file; download it again)");
        }
        long expected = expectedBytes(file, where, dtype, shape);
        if (end - begin != expected) {
            throw new SafetensorsFormatException(file, where + ": " + (end - begin) + " bytes do not match " + dtype + " x shape "
                    + Arrays.toString(shape) + " = " + expected + " bytes (corrupt header)");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long nonNegativeLong(Path file, String where, String what, JsonNode n) throws SafetensorsFormatException {
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            throw new SafetensorsFormatException(file, where + ": " + what + " must hold non-negative integers, found " + n);
        }
        return n.asLong();
    }

    private static long expectedBytes(Path file, String where, DType dtype, long[] shape) throws SafetensorsFormatException {
        try {
            long numel = 1;
            for (long d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            return Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(file, where + ": shape " + Arrays.toString(shape) + " has more bytes than a "
                    + "64-bit size can hold (corrupt header)");
        }
    }

    /** Sorted by first byte, each non-empty tensor must start at or after the end of the one before it. */
    private static void checkOverlaps(Path file, Collection<TensorInfo> infos) throws SafetensorsFormatException {
        List<TensorInfo> sorted = new ArrayList<>(infos.stream().filter(t -> t.byteSize() > 0).toList());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        TensorInfo furthest = null;
        for (TensorInfo cur : sorted) {
            if (furthest != null && cur.begin() < furthest.end()) {
                throw new SafetensorsFormatException(file, "tensors '" + furthest.name() + "' and '" + cur.name() + "' overlap (bytes "
                        + cur.begin() + " to " + Math.min(cur.end(), furthest.end()) + " belong to both; corrupt header)");
            }
            furthest = cur; // non-empty and starting at or after the previous furthest end, so it ends further
        }
    }
}
