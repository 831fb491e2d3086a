package dev.finetune4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face model folder: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} ({@code weight_map}), seen as one set of names. Every shard is mapped,
 * not copied. Pickle-only folders are refused with a conversion hint.
 *
 * <pre>{@code
 * try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(Path.of("Qwen2.5-7B"))) {
 *     Tensor embed = ckpt.tensor("model.embed_tokens.weight");
 * }
 * }</pre>
 *
 * <p>Thread safety: as {@link SafetensorsFile}, reads may run concurrently; views die with {@link #close()}.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    /** File name of an unsharded checkpoint. */
    public static final String SINGLE = "model.safetensors";
    /** File name of a sharded checkpoint's index. */
    public static final String INDEX = "model.safetensors.index.json";

    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private SafetensorsCheckpoint(List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.files = files;
        this.byName = byName;
    }

    /**
     * Opens the checkpoint of folder {@code dir} (the index when present, else {@code model.safetensors}), or a
     * single {@code .safetensors} file.
     *
     * @param dir a model folder or a {@code .safetensors} file
     * @return the open checkpoint; close it to unmap the files
     * @throws SafetensorsFormatException for a corrupt file or index, a missing shard, or a pickle-only folder
     */
    public static SafetensorsCheckpoint open(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) {
            return of(List.of(dir), null);
        }
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such folder; pass a Hugging Face model folder holding "
                    + SINGLE + " or " + INDEX);
        }
        if (Files.isRegularFile(dir.resolve(INDEX))) {
            return sharded(dir);
        }
        if (Files.isRegularFile(dir.resolve(SINGLE))) {
            return of(List.of(dir.resolve(SINGLE)), null);
        }
        try (Stream<Path> list = Files.list(dir)) {
            List<Path> found = list.sorted().toList();
            for (Path p : found) {
                PickleGuard.refuse(p);
            }
            throw new SafetensorsFormatException(dir, "holds neither " + SINGLE + " nor " + INDEX + " (files: "
                    + found.stream().map(p -> p.getFileName().toString()).toList() + ")");
        }
    }

    private static SafetensorsCheckpoint sharded(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        JsonNode map;
        try {
            map = SafetensorsHeader.JSON.readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new SafetensorsFormatException(index, "invalid JSON: " + e.getMessage());
        }
        if (!map.isObject()) {
            throw new SafetensorsFormatException(index, "has no 'weight_map' object mapping tensor names to shard files");
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String shard = e.getValue().asText("");
            if (!e.getValue().isTextual() || shard.isEmpty() || shard.contains("/") || shard.contains("\\")
                    || shard.equals("..") || shard.equals(".")) {
                throw new SafetensorsFormatException(index, "maps '" + e.getKey() + "' to " + e.getValue()
                        + ", which is not a file name in the same folder (shards must sit beside the index)");
            }
            shardOf.put(e.getKey(), shard);
        }
        if (shardOf.isEmpty()) {
            throw new SafetensorsFormatException(index, "has an empty 'weight_map': it names no tensor and no shard "
                    + "(incomplete download? fetch the model again)");
        }
        List<Path> shards = shardOf.values().stream().distinct().map(dir::resolve).toList();
        for (Path s : shards) {
            if (!Files.isRegularFile(s)) {
                throw new SafetensorsFormatException(index, "lists shard " + s.getFileName() + ", which is missing from " + dir
                        + " (incomplete download? fetch every shard the index names)");
            }
        }
        return of(shards, shardOf);
    }

    private static SafetensorsCheckpoint of(List<Path> paths, Map<String, String> expectedShard) throws IOException {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                opened.add(f);
                for (String n : f.names()) {
                    SafetensorsFile other = byName.putIfAbsent(n, f);
                    if (other != null) {
                        throw new SafetensorsFormatException(p, "tensor '" + n + "' also appears in " + other.path().getFileName()
                                + "; a checkpoint must hold each name once");
                    }
                }
            }
            if (expectedShard != null) {
                checkIndex(paths.getFirst().resolveSibling(INDEX), expectedShard, byName);
            }
            return new SafetensorsCheckpoint(List.copyOf(opened), byName);
        } catch (IOException | RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static void checkIndex(Path index, Map<String, String> expectedShard, Map<String, SafetensorsFile> byName)
            throws SafetensorsFormatException {
        for (Map.Entry<String, String> e : expectedShard.entrySet()) {
            SafetensorsFile holder = byName.get(e.getKey());
            if (holder == null || !holder.path().getFileName().toString().equals(e.getValue())) {
                throw new SafetensorsFormatException(index, "lists tensor '" + e.getKey() + "' in " + e.getValue() + ", but "
                        + (holder == null ? "no shard holds it" : "it is in " + holder.path().getFileName())
                        + " (index and shards come from different saves; download them again together)");
            }
        }
    }

    /**
     * All tensor names across shards.
     *
     * @return the names, in shard order
     */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    /**
     * Whether some shard holds {@code name}.
     *
     * @param name a tensor name
     * @return whether it is present
     */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /**
     * Header entry of {@code name} in its shard, or null when absent.
     *
     * @param name a tensor name
     * @return the entry, or null
     */
    public TensorInfo info(String name) {
        SafetensorsFile f = byName.get(name);
        return f == null ? null : f.info(name);
    }

    /**
     * A zero-copy view of {@code name}, valid until the checkpoint is closed.
     *
     * @param name a tensor name
     * @return a tensor over the mapped bytes, in the file's dtype and shape
     * @throws IllegalArgumentException when no shard holds it
     */
    public Tensor tensor(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new IllegalArgumentException("the checkpoint has no tensor '" + name + "' among its " + byName.size() + " tensors");
        }
        return f.tensor(name);
    }

    /** Unmaps every shard; views throw from now on. Idempotent. */
    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
