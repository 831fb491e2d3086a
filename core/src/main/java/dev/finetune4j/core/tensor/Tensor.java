package dev.finetune4j.core.tensor;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.GradNode;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.cpu.HostStorage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A view over {@link Storage} on a {@link Device}: shape, strides and offset (in elements), owned by a
 * {@link TensorScope}. Views ({@link #reshape}, {@link #transpose}, {@link #permute}, {@link #slice},
 * {@link #expand}) share storage; {@link #contiguous()} copies only when needed. View methods take part in
 * autograd. Values move between the host and the device only through the explicit copies
 * ({@link #of(Device, TensorScope, float[], Shape)}, {@link #copyFrom}, {@link #toFloatArray}, {@link #copyTo});
 * element access ({@link #get}, {@link #getFlat}) is for CPU tensors.
 *
 * <p>A tensor with {@code requiresGrad} and no producing node is a leaf (a parameter): gradients flowing into
 * it accumulate in {@link #grad()}, allocated in the leaf's own scope so that they outlive a step's scope.
 *
 * <p>Thread safety: reading is safe from any thread while the owning scope is open; writes are not
 * synchronized.
 */
public final class Tensor {
    /** Values of an NF4 tensor dequantized at a time when it converts to bf16 or f16 (16 MiB of float32). */
    private static final long NF4_STAGING_VALUES = 1L << 22;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Storage storage;
    private final TensorScope scope;
    private final DType dtype;
    private final Shape shape;
    private final long[] strides;
    private final long offset;

    private boolean requiresGrad;
    private GradNode gradFn;
    private Tensor grad;
    private String name;

    private Tensor(Storage storage, TensorScope scope, DType dtype, Shape shape, long[] strides, long offset) {
        this.storage = storage;
        this.scope = scope;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---- creation -------------------------------------------------------------------------------------------

    /**
     * A zero-filled tensor on {@code device}, owned by {@code scope}.
     *
     * @param scope owns the memory
     * @param device where the memory lives
     * @param dtype the element type
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor zeros(TensorScope scope, Device device, DType dtype, Shape shape) {
        Storage s = scope.allocate(device, dtype, shape.numel());
        return new Tensor(s, scope, dtype, shape, shape.contiguousStrides(), 0);
    }

    /**
     * A tensor on {@code device}, owned by {@code scope}, whose values are undefined until written: for the output of
     * a kernel that writes every element (a device then skips clearing memory that is overwritten at once). Reading
     * an element before it is written gives any value, NaN included.
     *
     * @param scope owns the memory
     * @param device where the memory lives
     * @param dtype the element type
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor empty(TensorScope scope, Device device, DType dtype, Shape shape) {
        Storage s = scope.allocateUninitialized(device, dtype, shape.numel());
        return new Tensor(s, scope, dtype, shape, shape.contiguousStrides(), 0);
    }

    /**
     * An uninitialized float32 tensor on {@code device} in the current thread's innermost scope (the output of a
     * kernel that writes every element; see {@link #empty(TensorScope, Device, DType, Shape)}).
     *
     * @param device where the memory lives
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor empty(Device device, Shape shape) {
        return empty(TensorScope.current(), device, DType.F32, shape);
    }

    /**
     * A zero-filled float32 tensor on {@code device} in the current thread's innermost scope (an op's result).
     *
     * @param device where the memory lives
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor zeros(Device device, Shape shape) {
        return zeros(TensorScope.current(), device, DType.F32, shape);
    }

    /**
     * A zero-filled tensor on the scope's {@link TensorScope#device() device}.
     *
     * @param scope owns the memory and names the device
     * @param dtype the element type
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor zeros(TensorScope scope, DType dtype, Shape shape) {
        return zeros(scope, scope.device(), dtype, shape);
    }

    /**
     * A zero-filled float32 CPU tensor in the current thread's innermost scope.
     *
     * @param dims the sizes
     * @return a new contiguous tensor
     */
    public static Tensor zeros(int... dims) {
        return zeros(Device.cpu(), Shape.of(dims));
    }

    /**
     * A zero-filled float32 CPU tensor of the given shape in the current scope.
     *
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor zeros(Shape shape) {
        return zeros(Device.cpu(), shape);
    }

    /**
     * A float32 CPU tensor holding a copy of {@code values}, in the current scope.
     *
     * @param values the elements in row-major order, as many as the shape holds
     * @param dims the sizes
     * @return a new contiguous tensor
     */
    public static Tensor of(float[] values, int... dims) {
        return of(TensorScope.current(), values, dims);
    }

    /**
     * A float32 tensor holding a copy of {@code values}, in {@code scope} on its {@link TensorScope#device() device}.
     *
     * @param scope owns the memory and names the device
     * @param values the elements in row-major order, as many as the shape holds
     * @param dims the sizes
     * @return a new contiguous tensor
     */
    public static Tensor of(TensorScope scope, float[] values, int... dims) {
        return of(scope.device(), scope, values, Shape.of(dims));
    }

    /**
     * A float32 tensor on {@code device} holding a copy of the host {@code values}, in {@code scope}.
     *
     * @param device where the memory lives
     * @param scope owns the memory
     * @param values the elements in row-major order, as many as the shape holds
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor of(Device device, TensorScope scope, float[] values, Shape shape) {
        checkFills(values.length, shape);
        Tensor t = empty(scope, device, DType.F32, shape);
        t.copyFrom(values);
        return t;
    }

    /**
     * An I64 tensor on {@code device} holding a copy of the host {@code values} (token ids), in the current scope.
     *
     * @param device where the memory lives
     * @param values the elements in row-major order, as many as the shape holds
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor ofLongs(Device device, long[] values, Shape shape) {
        checkFills(values.length, shape);
        Tensor t = empty(TensorScope.current(), device, DType.I64, shape);
        device.backend().copyFromHost(MemorySegment.ofArray(values), t);
        return t;
    }

    /**
     * An I32 tensor on {@code device} holding a copy of the host {@code values} (labels), in the current scope.
     *
     * @param device where the memory lives
     * @param values the elements in row-major order, as many as the shape holds
     * @param shape the sizes
     * @return a new contiguous tensor
     */
    public static Tensor ofInts(Device device, int[] values, Shape shape) {
        checkFills(values.length, shape);
        Tensor t = empty(TensorScope.current(), device, DType.I32, shape);
        device.backend().copyFromHost(MemorySegment.ofArray(values), t);
        return t;
    }

    private static void checkFills(long count, Shape s) {
        if (s.numel() != count) {
            throw new IllegalArgumentException(count + " values do not fill shape " + s + " (" + s.numel() + " elements)");
        }
    }

    /**
     * Wraps host memory someone else owns (for example a memory-mapped safetensors slice) without copying.
     *
     * @param scope the scope the tensor belongs to; it does not free the memory
     * @param memory the elements, little-endian and row-major; it must stay valid while the tensor is used. Change
     *               it through the tensor (ops, {@link #copyFrom}, {@link #hostSegment}), not behind its back:
     *               products may keep a float32 copy of a frozen weight until its storage counts a write
     * @param dtype the element type
     * @param shape the sizes; {@code memory} holds at least {@code dtype.bytesFor(shape.numel())} bytes
     * @return a contiguous tensor over {@code memory}
     */
    public static Tensor wrap(TensorScope scope, MemorySegment memory, DType dtype, Shape shape) {
        if (memory.byteSize() < dtype.bytesFor(shape.numel())) {
            throw new IllegalArgumentException("memory of " + memory.byteSize() + " bytes is too small for "
                    + dtype + shape + " (" + dtype.bytesFor(shape.numel()) + " bytes)");
        }
        return new Tensor(HostStorage.wrap(memory), scope, dtype, shape, shape.contiguousStrides(), 0);
    }

    /**
     * A new view of this tensor's storage (no autograd link; used by view ops).
     *
     * @param newShape the view's sizes
     * @param newStrides the view's strides, in elements, one per dimension
     * @param newOffset the view's first element in the storage, in elements
     * @return the view
     * @throws IllegalArgumentException when the strides do not match the rank, or the view would reach an element
     *                                  outside the storage
     */
    public Tensor view(Shape newShape, long[] newStrides, long newOffset) {
        long[] ownStrides = newStrides.clone(); // checked and kept as one copy the caller cannot change later
        Views.requireInside(storage, dtype, newShape, ownStrides, newOffset);
        return new Tensor(storage, scope, dtype, newShape, ownStrides, newOffset);
    }

    // ---- metadata -------------------------------------------------------------------------------------------

    /**
     * The element type.
     *
     * @return the dtype
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The sizes.
     *
     * @return the shape
     */
    public Shape shape() {
        return shape;
    }

    /**
     * The size of one dimension.
     *
     * @param i the dimension; negative counts from the end
     * @return its size
     */
    public int dim(int i) {
        return shape.dim(i);
    }

    /**
     * The number of dimensions.
     *
     * @return the rank, 0 for a scalar
     */
    public int rank() {
        return shape.rank();
    }

    /**
     * The number of elements.
     *
     * @return the product of the sizes
     */
    public long numel() {
        return shape.numel();
    }

    /**
     * The step in elements between neighbours along each dimension.
     *
     * @return a copy of the strides
     */
    public long[] strides() {
        return strides.clone();
    }

    /**
     * Offset of the first element in the storage, in elements.
     *
     * @return the offset, {@code >= 0}
     */
    public long offset() {
        return offset;
    }

    /**
     * The scope that owns this tensor's memory.
     *
     * @return the scope
     */
    public TensorScope scope() {
        return scope;
    }

    /**
     * The device the storage belongs to.
     *
     * @return the device
     */
    public Device device() {
        return storage.device();
    }

    /**
     * The backend of this tensor's device (for ops).
     *
     * @return the device's backend
     */
    public Backend backend() {
        return storage.device().backend();
    }

    /**
     * The whole underlying storage (check {@link #offset()} and {@link #isContiguous()}); for backends.
     *
     * @return the storage
     */
    public Storage storage() {
        scope.ensureLive(storage);
        return storage;
    }

    /** The storage without the liveness check, for the scope that owns it. */
    Storage ownedStorage() {
        return storage;
    }

    /**
     * The whole storage of a CPU tensor as memory (check {@link #offset()} and {@link #isContiguous()}), for
     * file I/O and CPU kernels. The storage counts as written at this call ({@link HostStorage#segment}): products
     * that keep a float32 copy of a frozen weight re-read it. Write through the segment before the next product that
     * reads the tensor, or call this again after writing.
     *
     * @return the host memory of the storage
     * @throws IllegalStateException when the tensor is not on the CPU: copy it first ({@link #copyTo})
     */
    public MemorySegment hostSegment() {
        return hostStorage().segment();
    }

    private HostStorage hostStorage() {
        if (!(storage() instanceof HostStorage host)) {
            throw new IllegalStateException(this + " lives on " + device() + ", not in host memory; copy it with "
                    + "copyTo(Device.cpu(), scope) or read it with toFloatArray()");
        }
        return host;
    }

    /**
     * The name this tensor was given, e.g. its state-dict key.
     *
     * @return the name, or null
     */
    public String name() {
        return name;
    }

    /**
     * Gives this tensor a name (shown in messages; backends may key caches by it).
     *
     * @param newName the name
     * @return this tensor
     */
    public Tensor named(String newName) {
        this.name = newName;
        return this;
    }

    /**
     * Whether the elements are laid out row-major without gaps (size-1 dimensions may have any stride).
     *
     * @return true when contiguous
     */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            if (shape.dim(i) != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape.dim(i);
        }
        return true;
    }

    // ---- element access (CPU, float32) ----------------------------------------------------------------------

    /**
     * Element {@code i} of a contiguous float32 CPU tensor.
     *
     * @param i the element's index in row-major order, in [0, numel)
     * @return the value
     * @throws IndexOutOfBoundsException when {@code i} is outside the tensor
     * @throws IllegalStateException when the tensor is not contiguous: use {@link #get(int...)} or {@link #contiguous()}
     */
    public float getFlat(long i) {
        long at = flatOffset(i);
        return hostStorage().readOnlySegment().getAtIndex(F, at);
    }

    /**
     * Sets element {@code i} of a contiguous float32 CPU tensor.
     *
     * @param i the element's index in row-major order, in [0, numel)
     * @param v the value
     * @throws IndexOutOfBoundsException when {@code i} is outside the tensor
     * @throws IllegalStateException when the tensor is not contiguous: use {@link #set(float, int...)}
     */
    public void setFlat(long i, float v) {
        long at = flatOffset(i);
        hostSegment().setAtIndex(F, at, v);
    }

    /**
     * Where flat element {@code i} lies in the storage. NOTE: the storage bounds alone would let an index past a
     * slice's end read its neighbours' values, and a transposed view would be read in storage order.
     */
    private long flatOffset(long i) {
        requireF32();
        if (i < 0 || i >= numel()) {
            throw new IndexOutOfBoundsException("flat index " + i + " out of bounds for " + this + " (" + numel()
                    + " elements)");
        }
        if (!isContiguous()) {
            throw new IllegalStateException("flat access needs a contiguous tensor, " + this + " has strides "
                    + Arrays.toString(strides) + "; use get(int...)/set(float, int...) or contiguous() first");
        }
        return offset + i;
    }

    /**
     * The element at the given multi-dimensional index (any layout, float32, CPU).
     *
     * @param index one index per dimension
     * @return the value
     */
    public float get(int... index) {
        requireF32();
        return hostStorage().readOnlySegment().getAtIndex(F, elementOffset(index));
    }

    /**
     * Sets the element at the given multi-dimensional index (any layout, float32, CPU).
     *
     * @param v the value
     * @param index one index per dimension
     */
    public void set(float v, int... index) {
        requireF32();
        hostSegment().setAtIndex(F, elementOffset(index), v);
    }

    private long elementOffset(int[] index) {
        if (index.length != shape.rank()) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has rank " + index.length + ", tensor " + shape);
        }
        long o = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape.dim(i)) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " out of bounds for " + shape);
            }
            o += index[i] * strides[i];
        }
        return o;
    }

    // ---- host copies ----------------------------------------------------------------------------------------

    /** The length of a host array holding every value, refused by name past what one Java array holds. */
    private int arrayLength(String method) {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) { // the VM's largest array, with room for its header
            throw new IllegalStateException(method + "() of " + this + ": " + n + " values are more than one Java array "
                    + "holds; copy it in slices (view or slice the tensor, then copy each part)");
        }
        return (int) n;
    }

    /**
     * Copies the values to the host, row-major, converted to float32 from any floating or integer dtype.
     *
     * @return the values (dequantized for NF4)
     */
    public float[] toFloatArray() {
        if (dtype == DType.NF4) {
            try (TensorScope staging = TensorScope.detached(device())) {
                return convertTo(DType.F32, staging).toFloatArray();
            }
        }
        float[] out = new float[arrayLength("toFloatArray")];
        if (dtype == DType.F32) {
            backend().copyToHost(this, MemorySegment.ofArray(out));
            return out;
        }
        MemorySegment host = hostCopy();
        for (int i = 0; i < out.length; i++) {
            out[i] = DTypeCodec.readFloat(host, dtype, i);
        }
        return out;
    }

    /**
     * Copies integer values to the host (I64, I32, U8, I8, BOOL; floats are truncated), row-major.
     *
     * @return a new array of {@link #numel()} values
     */
    public long[] toLongArray() {
        long[] out = new long[arrayLength("toLongArray")];
        if (dtype == DType.I64) {
            backend().copyToHost(this, MemorySegment.ofArray(out));
            return out;
        }
        MemorySegment host = hostCopy();
        for (int i = 0; i < out.length; i++) {
            out[i] = DTypeCodec.readLong(host, dtype, i);
        }
        return out;
    }

    /** The elements in this tensor's dtype, row-major, in a heap segment. */
    private MemorySegment hostCopy() {
        MemorySegment host = MemorySegment.ofArray(new long[Math.toIntExact((dtype.bytesFor(numel()) + 7) / 8)])
                .asSlice(0, dtype.bytesFor(numel()));
        backend().copyToHost(this, host);
        return host;
    }

    /**
     * Overwrites the values of this contiguous float32 tensor with host {@code values} (row-major).
     *
     * @param values {@link #numel()} values in row-major order
     */
    public void copyFrom(float[] values) {
        if (dtype != DType.F32 || !isContiguous() || values.length != numel()) {
            throw new IllegalArgumentException("cannot copy " + values.length + " floats into " + this
                    + " (needs a contiguous F32 tensor of as many elements)");
        }
        backend().copyFromHost(MemorySegment.ofArray(values), this);
    }

    /**
     * A contiguous copy on {@code target}, in {@code into} (through the host when the devices differ).
     *
     * @param target the device of the copy
     * @param into owns the copy
     * @return a new contiguous tensor with the same dtype and shape
     */
    public Tensor copyTo(Device target, TensorScope into) {
        Tensor out = empty(into, target, dtype, shape);
        if (target.equals(device())) {
            backend().copy().copy(this, out);
        } else {
            try (Arena staging = Arena.ofConfined()) {
                MemorySegment host = staging.allocate(Math.max(1, dtype.bytesFor(numel())), 64);
                backend().copyToHost(this, host);
                target.backend().copyFromHost(host.asSlice(0, dtype.bytesFor(numel())), out);
            }
        }
        return out;
    }

    /**
     * Converts to another dtype into {@code into}: a contiguous copy on this device; floats round to nearest-even, and
     * NF4 is quantized or dequantized block-wise ({@link Nf4Format}).
     *
     * @param target the dtype of the copy
     * @param into   the scope that owns the copy
     * @return the converted copy
     */
    public Tensor convertTo(DType target, TensorScope into) {
        // every element is written below; NF4 storage is cleared, as its blocks may end in bytes no value fills
        Tensor out = target == DType.NF4 ? zeros(into, device(), target, shape) : empty(into, device(), target, shape);
        if (target == DType.NF4) {
            backend().quantization().quantizeNf4(contiguous(), out);
        } else if (dtype == DType.NF4 && target != DType.F32) {
            // through one float32 block, not a float32 copy of the whole weight (QLoRA dequantizes a weight to bf16
            // for each product: the block is all it needs beside the bf16 copy)
            long total = numel();
            Tensor flat = out.reshape(Math.toIntExact(total));
            try (TensorScope staging = TensorScope.detached(device())) {
                Tensor block = empty(staging, device(), DType.F32, Shape.of((int) Math.min(total, NF4_STAGING_VALUES)));
                for (long first = 0; first < total; first += block.numel()) {
                    int count = (int) Math.min(block.numel(), total - first);
                    Tensor part = block.slice(0, 0, count);
                    backend().quantization().dequantizeNf4(this, first, part);
                    backend().copy().copy(part, flat.slice(0, (int) first, (int) first + count));
                }
            }
        } else if (dtype == DType.NF4) {
            backend().quantization().dequantizeNf4(this, 0, out);
        } else {
            backend().copy().copy(this, out);
        }
        return out;
    }

    /**
     * Converts to another dtype in the current scope (this tensor when the dtype already matches).
     *
     * @param target the new element type
     * @return this tensor or a converted copy
     */
    public Tensor to(DType target) {
        return target == dtype ? this : convertTo(target, TensorScope.current());
    }

    private void requireF32() {
        if (dtype != DType.F32) {
            throw new IllegalStateException("element access needs an F32 tensor, this one is " + dtype + "; call to(DType.F32)");
        }
    }

    // ---- views (autograd-aware) -----------------------------------------------------------------------------

    /**
     * A view with a new shape over the same elements (copies first when not contiguous).
     *
     * @param dims the new sizes, with the same number of elements
     * @return the reshaped tensor
     */
    public Tensor reshape(int... dims) {
        return Views.reshape(this, dims);
    }

    /**
     * Swaps two dimensions (a view).
     *
     * @param d0 one dimension; negative counts from the end
     * @param d1 the other dimension; negative counts from the end
     * @return the view
     */
    public Tensor transpose(int d0, int d1) {
        return Views.transpose(this, d0, d1);
    }

    /**
     * Reorders dimensions (a view).
     *
     * @param order the new order: {@code order[i]} is the old dimension that becomes dimension i
     * @return the view
     */
    public Tensor permute(int... order) {
        return Views.permute(this, order);
    }

    /**
     * Elements {@code [start, end)} of dimension {@code dim} (a view).
     *
     * @param dim the dimension to cut
     * @param start first index kept
     * @param end one past the last index kept
     * @return the view
     */
    public Tensor slice(int dim, int start, int end) {
        return Views.slice(this, dim, start, end);
    }

    /**
     * This tensor broadcast to {@code target} (a view with stride 0 along stretched dimensions, NumPy's rules:
     * aligned from the right, size-1 dimensions stretch). Backward sums over the stretched dimensions.
     *
     * @param target the shape to broadcast to
     * @return the view
     */
    public Tensor expand(Shape target) {
        return Views.expand(this, target);
    }

    /**
     * This tensor when already contiguous, else a contiguous copy.
     *
     * @return a contiguous tensor with the same values
     */
    public Tensor contiguous() {
        return Views.contiguous(this);
    }

    // ---- autograd -------------------------------------------------------------------------------------------

    /**
     * Whether gradients flow into or through this tensor.
     *
     * @return true for a trainable leaf or the result of an operation on one
     */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * Marks a leaf tensor as trainable (or frozen).
     *
     * @param value true to accumulate gradients into this tensor, false to freeze it
     * @return this tensor
     */
    public Tensor requiresGrad(boolean value) {
        if (value && !dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("only floating-point tensors can require gradients, not " + dtype);
        }
        this.requiresGrad = value;
        return this;
    }

    /**
     * The node of the operation that produced this tensor, for backward.
     *
     * @return the node, or null for a leaf or a tensor outside the graph
     */
    public GradNode gradFn() {
        return gradFn;
    }

    /**
     * Links this tensor to the node that produced it; called by {@link Autograd#record}.
     *
     * @param node the operation's node, or null to cut the link
     */
    public void setGradFn(GradNode node) {
        this.gradFn = node;
        this.requiresGrad = node != null || requiresGrad;
    }

    /**
     * Accumulated gradient of a leaf, or null before any backward pass.
     *
     * @return the gradient, or null
     */
    public Tensor grad() {
        return grad;
    }

    /**
     * Replaces the gradient (null clears it).
     *
     * @param g the new gradient, same shape and device as this tensor, or null
     * @throws IllegalArgumentException when {@code g} has another shape or lives on another device: an optimizer
     *                                  steps parameter and gradient element by element
     */
    public void setGrad(Tensor g) {
        if (g != null && (!g.shape.equals(shape) || !g.device().equals(device()))) {
            throw new IllegalArgumentException("the gradient of " + this + " must have its shape " + shape + " on "
                    + device() + ", got " + g + " on " + g.device());
        }
        this.grad = g;
    }

    /**
     * A tensor sharing storage but cut from the graph (no gradient flows through it).
     *
     * @return a new tensor over the same storage, without a gradient function
     */
    public Tensor detach() {
        return new Tensor(storage, scope, dtype, shape, strides, offset);
    }

    @Override
    public String toString() {
        return "Tensor" + (name == null ? "" : "(" + name + ")") + "[" + dtype + " " + shape
                + (storage.device().isCpu() ? "" : " " + storage.device()) + "]";
    }
}
