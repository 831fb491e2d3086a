package dev.finetune4j.core.io;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A memory-mapped safetensors file: the header is validated strictly on open, tensors are zero-copy views of
 * the mapping (offsets are {@code long}, so files over 2 GiB work), and closing the file unmaps it, after which
 * its tensors throw {@link IllegalStateException} instead of touching freed memory.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(Path.of("model.safetensors"))) {
 *     Tensor w = f.tensor("lm_head.weight");   // a view; copy it (w.toFloatArray(), w.convertTo) to keep it
 * }
 * }</pre>
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of JSON ({@code name -> {dtype, shape,
 * data_offsets}} plus optional {@code __metadata__}), then the data; see {@link SafetensorsHeader} for what is
 * checked. Thread safety: any number of threads may read names, infos and tensors concurrently; views are
 * read-only. Closing while another thread reads makes that thread's access throw.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers above this size are refused (as the reference implementation does). */
    public static final long MAX_HEADER_BYTES = SafetensorsHeader.MAX_HEADER_BYTES;

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final SafetensorsHeader header;
    private final TensorScope views = TensorScope.detached();
    private final AtomicBoolean closed = new AtomicBoolean();

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.header = header;
    }

    /**
     * Maps and validates a file (also on a thread whose interrupt flag is set: {@link InterruptSafe}).
     *
     * @param path the {@code .safetensors} file
     * @return the open file; close it to unmap it
     * @throws SafetensorsFormatException naming the file, what is wrong with it and what to do (pickle
     *                                    checkpoints are refused here too)
     * @throws IOException                when the file cannot be read at all
     */
    public static SafetensorsFile open(Path path) throws IOException {
        return InterruptSafe.call(() -> map(path));
    }

    private static SafetensorsFile map(Path path) throws IOException {
        PickleGuard.refuse(path);
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path, "file of " + size + " bytes is too short to hold the 8-byte header "
                        + "length (truncated download? download it again)");
            }
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 0) {
                throw new SafetensorsFormatException(path, "header length " + headerLen + " is negative (not a "
                        + "safetensors file, or corrupt: download it again)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(path, "header length " + headerLen + " is over the " + MAX_HEADER_BYTES
                        + "-byte limit (not a safetensors file, or corrupt)");
            }
            if (headerLen > size - 8) {
                throw new SafetensorsFormatException(path, "header length " + headerLen + " runs past the end of the " + size
                        + "-byte file (truncated? download it again)");
            }
            byte[] json = whole.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = whole.asSlice(8 + headerLen);
            return new SafetensorsFile(path, arena, data, SafetensorsHeader.parse(path, json, data.byteSize()));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Tensor names in header order.
     *
     * @return the names
     */
    public List<String> names() {
        return List.copyOf(header.tensors().keySet());
    }

    /**
     * Whether the file holds tensor {@code name}.
     *
     * @param name a tensor name
     * @return whether it is present
     */
    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    /**
     * Header entry of {@code name} (dtype, shape, byte range), or null when absent.
     *
     * @param name a tensor name
     * @return the entry, or null
     */
    public TensorInfo info(String name) {
        return header.tensors().get(name);
    }

    /**
     * {@code __metadata__} of the header (empty when absent).
     *
     * @return the metadata strings
     */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /**
     * A zero-copy view of tensor {@code name}, valid until this file is closed.
     *
     * @param name a tensor name
     * @return a tensor over the mapped bytes, in the file's dtype and shape
     * @throws IllegalArgumentException listing a few of the available names when absent, or when a dimension is
     *                                  too large for {@link Shape} (over {@code Integer.MAX_VALUE})
     */
    public Tensor tensor(String name) {
        TensorInfo info = info(name);
        if (info == null) {
            List<String> some = names().subList(0, Math.min(10, header.tensors().size()));
            throw new IllegalArgumentException(path + " has no tensor '" + name + "'; it has " + header.tensors().size()
                    + " tensors, e.g. " + some);
        }
        if (Arrays.stream(info.shape()).anyMatch(d -> d > Integer.MAX_VALUE)) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' has shape " + Arrays.toString(info.shape())
                    + ", and tensor dimensions are limited to " + Integer.MAX_VALUE + " elements; reshape it before saving");
        }
        return Tensor.wrap(views, data.asSlice(info.begin(), info.byteSize()), info.dtype(), Shape.of(info.shape()));
    }

    /**
     * The file this was opened from.
     *
     * @return its path
     */
    public Path path() {
        return path;
    }

    /** Unmaps the file; its tensors throw from now on. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            views.close();
            arena.close();
        }
    }
}
