package dev.finetune4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face model folder: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} ({@code weight_map}), seen as one set of names. Pickle-only folders are
 * refused with a conversion hint.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    private static final String SINGLE = "model.safetensors";
    private static final String INDEX = "model.safetensors.index.json";

    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private SafetensorsCheckpoint(List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.files = files;
        this.byName = byName;
    }

    /** Opens the checkpoint of {@code dir} (or a single .safetensors file). */
    public static SafetensorsCheckpoint open(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) {
            return of(List.of(dir), null);
        }
        if (Files.isRegularFile(dir.resolve(INDEX))) {
            return sharded(dir);
        }
        if (Files.isRegularFile(dir.resolve(SINGLE))) {
            return of(List.of(dir.resolve(SINGLE)), null);
        }
        try (Stream<Path> list = Files.list(dir)) {
            List<Path> found = list.toList();
            for (Path p : found) {
                String n = p.getFileName().toString();
                if (n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth")) {
                    PickleGuard.refuse(p);
                }
            }
            throw new SafetensorsFormatException(dir, "holds neither " + SINGLE + " nor " + INDEX + " (files: "
                    + found.stream().map(p -> p.getFileName().toString()).sorted().toList() + ")");
        }
    }

    private static SafetensorsCheckpoint sharded(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new SafetensorsFormatException(index, "invalid JSON: " + e.getMessage());
        }
        if (!map.isObject()) {
            throw new SafetensorsFormatException(index, "has no 'weight_map' object");
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        map.properties().forEach(e -> shardOf.put(e.getKey(), e.getValue().asText()));
        List<Path> shards = shardOf.values().stream().distinct().map(dir::resolve).toList();
        for (Path s : shards) {
            if (!Files.isRegularFile(s)) {
                throw new SafetensorsFormatException(index, "lists shard " + s.getFileName() + ", which is missing from " + dir);
            }
        }
        return of(shards, shardOf);
    }

    private static SafetensorsCheckpoint of(List<Path> paths, Map<String, String> expected) throws IOException {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                opened.add(f);
                for (String n : f.names()) {
                    if (byName.putIfAbsent(n, f) != null) {
                        throw new SafetensorsFormatException(p, "tensor '" + n + "' also appears in " + byName.get(n).path().getFileName());
                    }
                }
            }
            if (expected != null) {
                for (Map.Entry<String, String> e : expected.entrySet()) {
                    if (!byName.containsKey(e.getKey())) {
                        throw new SafetensorsFormatException(paths.getFirst().resolveSibling(e.getValue()),
                                "the index lists tensor '" + e.getKey() + "' in this shard, but the shard lacks it");
                    }
                }
            }
            return new SafetensorsCheckpoint(opened, byName);
        } catch (IOException | RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** All tensor names across shards. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** A zero-copy view of {@code name}, valid until the checkpoint is closed. */
    public Tensor tensor(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new IllegalArgumentException("the checkpoint has no tensor '" + name + "'");
        }
        return f.tensor(name);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
