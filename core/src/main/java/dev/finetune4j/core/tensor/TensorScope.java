package dev.finetune4j.core.tensor;

import dev.finetune4j.core.backend.Device;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Owner of tensor memory, on any device. Every tensor lives in exactly one scope, and closing the scope gives all
 * of its storage back to the devices' backends at once; touching such a tensor afterwards throws
 * {@link IllegalStateException}.
 *
 * <p>Scopes opened with {@link #open()} nest per thread: operations allocate their results in the innermost
 * open scope of the calling thread, so a training step written as
 * <pre>{@code
 * try (var step = TensorScope.open()) {
 *     Tensor loss = model.loss(batch);
 *     Autograd.backward(loss);
 * }   // every activation of the step is freed here; parameters and their gradients live on
 * }</pre>
 * frees its activations deterministically. Long-lived owners (a model's parameters) use {@link #detached()},
 * which is not on any thread's stack; their storage is allocated as long-lived. In either kind of scope one tensor
 * can be freed before the scope closes ({@link #release}): QLoRA frees the float32 weights it has quantized, ops
 * free their temporaries, and the backward pass frees each gradient once it has been used.
 *
 * <p>Thread safety: tensors can be read by any thread (the kernels' worker threads, other request threads);
 * allocation is synchronized. Opening and closing a stacked scope is per thread.
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<Deque<TensorScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final boolean stacked;
    private final Device device;
    private final Thread owner;
    /**
     * What is still owned, in allocation order, with each storage's allocation number: one storage can be released
     * on its own, and everything since a {@link #mark()} at once. Storage compares by identity.
     */
    private final LinkedHashMap<Storage, Long> live = new LinkedHashMap<>(); // guarded by this
    /**
     * Storage released before the scope closed: a tensor over it must not reach a kernel any more. Weak, so that
     * released heap memory is collected once no tensor refers to it.
     */
    private final Set<Storage> released = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private long allocations; // guarded by this
    private final List<AutoCloseable> resources = new ArrayList<>(); // guarded by this
    private volatile boolean open = true;
    private long allocatedBytes;
    private long releasedBytes;

    private TensorScope(boolean stacked, Device device) {
        this.stacked = stacked;
        this.device = device;
        this.owner = Thread.currentThread();
    }

    /**
     * Opens a scope and makes it the current thread's innermost scope until closed.
     *
     * @return the new scope; close it with try-with-resources
     */
    public static TensorScope open() {
        TensorScope scope = new TensorScope(true, Device.cpu());
        STACK.get().push(scope);
        return scope;
    }

    /**
     * Opens a long-lived scope on the CPU that is never the implicit target of operations (for parameters).
     *
     * @return the new scope; close it to free the tensors
     */
    public static TensorScope detached() {
        return detached(Device.cpu());
    }

    /**
     * Opens a long-lived scope whose tensors live on {@code device} unless told otherwise (a model's parameters
     * on a GPU); it is never the implicit target of operations.
     *
     * @param device the default device of the scope's tensors
     * @return the new scope; close it to free the tensors
     */
    public static TensorScope detached(Device device) {
        return new TensorScope(false, device);
    }

    /**
     * The device of tensors made in this scope without naming one ({@link Tensor#zeros(TensorScope, DType, Shape)});
     * the CPU for scopes opened by {@link #open()}, whose op results live where their inputs do.
     *
     * @return the device
     */
    public Device device() {
        return device;
    }

    /**
     * The innermost scope opened on this thread.
     *
     * @return the scope
     * @throws IllegalStateException when no scope is open: wrap the work in {@code try (var s = TensorScope.open())}
     */
    public static TensorScope current() {
        TensorScope s = STACK.get().peek();
        if (s == null) {
            throw new IllegalStateException("no TensorScope is open on thread '" + Thread.currentThread().getName()
                    + "': wrap tensor work in try (var scope = TensorScope.open()) { ... }");
        }
        return s;
    }

    /**
     * Zero-filled storage for {@code elements} values of {@code dtype} on {@code device}, freed when this scope
     * closes.
     *
     * @param device where the memory lives
     * @param dtype the element type
     * @param elements the number of values
     * @return the storage
     */
    public Storage allocate(Device device, DType dtype, long elements) {
        ensureOpen();
        return own(device.backend().allocate(dtype, elements, stacked));
    }

    /**
     * Storage for {@code elements} values of {@code dtype} on {@code device} whose values are undefined until
     * written ({@link dev.finetune4j.core.backend.Backend#allocateUninitialized}), freed when this scope closes.
     *
     * @param device where the memory lives
     * @param dtype the element type
     * @param elements the number of values
     * @return the storage
     */
    public Storage allocateUninitialized(Device device, DType dtype, long elements) {
        ensureOpen();
        return own(device.backend().allocateUninitialized(dtype, elements, stacked));
    }

    private Storage own(Storage s) {
        synchronized (this) {
            allocatedBytes += s.byteSize();
            live.put(s, allocations++);
        }
        return s;
    }

    /**
     * Frees a tensor allocated by this scope before the scope closes: QLoRA frees the float32 weights it has
     * quantized, and an op frees its float32 result once it has rounded it to bf16. The tensor and every view of it
     * must not be used afterwards; one that reaches a kernel throws {@link IllegalStateException}.
     *
     * @param tensor a tensor this scope allocated
     * @throws IllegalArgumentException when the tensor's memory was not allocated by this scope, or was released
     *                                  already
     */
    public void release(Tensor tensor) {
        ensureOpen();
        Storage s = tensor.ownedStorage();
        synchronized (this) {
            if (live.remove(s) == null) {
                throw new IllegalArgumentException("cannot release " + tensor + ": its memory was not allocated by "
                        + "this scope, or was released already");
            }
            forget(s);
        }
        s.free();
    }

    /**
     * A point in this scope's allocations, for {@link #releaseSince}.
     *
     * @return the number of allocations so far
     */
    public synchronized long mark() {
        return allocations;
    }

    /**
     * Frees everything this scope allocated since {@code mark} and still owns, except the memory behind
     * {@code keep}: the backward pass frees what a gradient rule allocated besides the gradients it returned. No
     * tensor over the freed memory may be used afterwards.
     *
     * @param mark a value of {@link #mark()}
     * @param keep tensors whose memory stays (null entries and tensors of other scopes are ignored)
     */
    public void releaseSince(long mark, Tensor... keep) {
        Set<Storage> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : keep) {
            if (t != null) {
                kept.add(t.ownedStorage());
            }
        }
        List<Storage> freed = new ArrayList<>();
        synchronized (this) {
            ensureOpen();
            var newestFirst = live.sequencedEntrySet().reversed().iterator();
            while (newestFirst.hasNext()) {
                var entry = newestFirst.next();
                if (entry.getValue() < mark) {
                    break;
                }
                if (!kept.contains(entry.getKey())) {
                    newestFirst.remove();
                    forget(entry.getKey());
                    freed.add(entry.getKey());
                }
            }
        }
        freed.forEach(Storage::free);
    }

    private void forget(Storage s) {
        releasedBytes += s.byteSize();
        released.add(s);
    }

    /**
     * Whether {@code tensor}'s memory was allocated by this scope and is still live (so {@link #release} can free it);
     * false for memory it only wraps, such as a memory-mapped checkpoint's.
     *
     * @param tensor any tensor
     * @return true when this scope owns its storage
     */
    public synchronized boolean owns(Tensor tensor) {
        return live.containsKey(tensor.storage());
    }

    /**
     * Makes this scope close {@code resource} when it closes, after freeing its tensors (a memory-mapped
     * checkpoint whose weights are tensors of this scope).
     *
     * @param resource closed after the tensors are freed
     */
    public synchronized void closeWith(AutoCloseable resource) {
        ensureOpen();
        resources.add(resource);
    }

    /**
     * Total bytes this scope has handed out.
     *
     * @return the bytes allocated since the scope opened
     */
    public synchronized long allocatedBytes() {
        return allocatedBytes;
    }

    /**
     * Bytes handed out and not yet released (for a detached scope: its native memory in use).
     *
     * @return the bytes in use
     */
    public synchronized long liveBytes() {
        return allocatedBytes - releasedBytes;
    }

    /**
     * Whether the scope is still open; its tensors are freed once it is not.
     *
     * @return true until {@link #close()}
     */
    public boolean isOpen() {
        return open;
    }

    void ensureOpen() {
        if (!open) {
            throw new IllegalStateException("tensor used after its TensorScope was closed; keep the scope open "
                    + "while the tensor is in use, or copy the values out first (Tensor.toFloatArray())");
        }
    }

    /** {@link #ensureOpen}, and that {@code storage} was not {@linkplain #release released}. */
    void ensureLive(Storage storage) {
        ensureOpen();
        if (!released.isEmpty() && released.contains(storage)) {
            throw new IllegalStateException("tensor used after its memory was released (TensorScope.release): a "
                    + "tensor freed early, or a view of one, must not be used again");
        }
    }

    @Override
    public void close() {
        if (!open) {
            return;
        }
        if (stacked) {
            if (Thread.currentThread() != owner) {
                throw new IllegalStateException("a TensorScope must be closed by the thread that opened it");
            }
            Deque<TensorScope> stack = STACK.get();
            if (stack.peek() != this) {
                throw new IllegalStateException("TensorScopes must be closed innermost first");
            }
            stack.pop();
        }
        open = false;
        synchronized (this) {
            live.keySet().forEach(Storage::free);
            live.clear();
            released.clear();
            IllegalStateException failure = null;
            // every resource is closed even when one fails: stopping at the first would leak the rest (open files)
            for (AutoCloseable r : resources.reversed()) {
                try {
                    r.close();
                } catch (Exception e) {
                    IllegalStateException wrapped = new IllegalStateException("closing " + r + " with its tensor scope "
                            + "failed: " + e.getMessage(), e);
                    if (failure == null) {
                        failure = wrapped;
                    } else {
                        failure.addSuppressed(wrapped);
                    }
                }
            }
            resources.clear();
            if (failure != null) {
                throw failure;
            }
        }
    }
}
