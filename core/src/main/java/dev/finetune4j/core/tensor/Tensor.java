package dev.finetune4j.core.tensor;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.GradNode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A view over storage: shape, strides and offset (in elements) into a {@link MemorySegment} (native, memory-mapped
 * or heap-backed) owned by a {@link TensorScope}. Views ({@link #reshape}, {@link #transpose}, {@link #permute}, {@link #slice}) share
 * storage; {@link #contiguous()} copies only when needed. View methods take part in autograd.
 *
 * <p>A tensor with {@code requiresGrad} and no producing node is a leaf (a parameter): gradients flowing into
 * it accumulate in {@link #grad()}, allocated in the leaf's own scope so that they outlive a step's scope.
 *
 * <p>Thread safety: reading is safe from any thread while the owning scope is open; writes are not
 * synchronized.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final MemorySegment storage;
    private final TensorScope scope;
    private final DType dtype;
    private final Shape shape;
    private final long[] strides;
    private final long offset;

    private boolean requiresGrad;
    private GradNode gradFn;
    private Tensor grad;
    private String name;

    private Tensor(MemorySegment storage, TensorScope scope, DType dtype, Shape shape, long[] strides, long offset) {
        this.storage = storage;
        this.scope = scope;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---- creation -------------------------------------------------------------------------------------------

    /** A zero-filled tensor in the given scope. */
    public static Tensor zeros(TensorScope scope, DType dtype, Shape shape) {
        MemorySegment seg = scope.allocate(dtype.bytesFor(shape.numel()));
        return new Tensor(seg, scope, dtype, shape, shape.contiguousStrides(), 0);
    }

    /** A zero-filled float32 tensor in the current thread's innermost scope. */
    public static Tensor zeros(int... dims) {
        return zeros(TensorScope.current(), DType.F32, Shape.of(dims));
    }

    /** A zero-filled float32 tensor of the given shape in the current scope. */
    public static Tensor zeros(Shape shape) {
        return zeros(TensorScope.current(), DType.F32, shape);
    }

    /** A float32 tensor holding a copy of {@code values}, in the current scope. */
    public static Tensor of(float[] values, int... dims) {
        return of(TensorScope.current(), values, dims);
    }

    /** A float32 tensor holding a copy of {@code values}, in {@code scope}. */
    public static Tensor of(TensorScope scope, float[] values, int... dims) {
        Shape s = Shape.of(dims);
        if (s.numel() != values.length) {
            throw new IllegalArgumentException(values.length + " values do not fill shape " + s + " (" + s.numel() + " elements)");
        }
        Tensor t = zeros(scope, DType.F32, s);
        MemorySegment.copy(values, 0, t.storage, F, 0, values.length);
        return t;
    }

    /** Wraps existing memory (for example a memory-mapped safetensors slice) without copying. */
    public static Tensor wrap(TensorScope scope, MemorySegment memory, DType dtype, Shape shape) {
        if (memory.byteSize() < dtype.bytesFor(shape.numel())) {
            throw new IllegalArgumentException("memory of " + memory.byteSize() + " bytes is too small for "
                    + dtype + shape + " (" + dtype.bytesFor(shape.numel()) + " bytes)");
        }
        return new Tensor(memory, scope, dtype, shape, shape.contiguousStrides(), 0);
    }

    /** A new view of this tensor's storage (no autograd link; used by view ops). */
    public Tensor view(Shape newShape, long[] newStrides, long newOffset) {
        return new Tensor(storage, scope, dtype, newShape, newStrides, newOffset);
    }

    // ---- metadata -------------------------------------------------------------------------------------------

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public int dim(int i) {
        return shape.dim(i);
    }

    public int rank() {
        return shape.rank();
    }

    public long numel() {
        return shape.numel();
    }

    public long[] strides() {
        return strides.clone();
    }

    /** Offset of the first element in the storage, in elements. */
    public long offset() {
        return offset;
    }

    public TensorScope scope() {
        return scope;
    }

    /** The whole underlying storage (check {@link #offset()} and {@link #isContiguous()} before raw access). */
    public MemorySegment storage() {
        scope.ensureOpen();
        return storage;
    }

    public String name() {
        return name;
    }

    public Tensor named(String newName) {
        this.name = newName;
        return this;
    }

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

    // ---- element access (float32) ---------------------------------------------------------------------------

    /** Element {@code i} of a contiguous float32 tensor. */
    public float getFlat(long i) {
        return storage().getAtIndex(F, offset + i);
    }

    /** Sets element {@code i} of a contiguous float32 tensor. */
    public void setFlat(long i, float v) {
        storage().setAtIndex(F, offset + i, v);
    }

    /** The element at the given multi-dimensional index (any layout, float32). */
    public float get(int... index) {
        requireF32();
        return storage().getAtIndex(F, elementOffset(index));
    }

    public void set(float v, int... index) {
        requireF32();
        storage().setAtIndex(F, elementOffset(index), v);
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

    /** Copies the values out, row-major, converted to float32 from any dtype. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        MemorySegment seg = storage();
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(seg, F, offset * 4, out, 0, out.length);
            return out;
        }
        if (dtype == DType.F32) {
            gatherF32(seg, out);
            return out;
        }
        long[] offsets = elementOffsets();
        for (int i = 0; i < out.length; i++) {
            out[i] = DTypeCodec.readFloat(seg, dtype, offsets[i]);
        }
        return out;
    }

    /** Strided float32 read, innermost dimension in a tight loop (transposed and permuted views). */
    private void gatherF32(MemorySegment seg, float[] out) {
        int rank = shape.rank();
        int inner = rank == 0 ? 1 : shape.dim(rank - 1);
        long innerStride = rank == 0 ? 0 : strides[rank - 1];
        int[] idx = new int[Math.max(0, rank - 1)];
        long base = offset;
        for (int at = 0; at < out.length; ) {
            if (innerStride == 1) {
                MemorySegment.copy(seg, F, base * 4, out, at, inner); // rows of a permuted view that kept its last axis
                at += inner;
            } else {
                for (int i = 0; i < inner; i++) {
                    out[at++] = seg.getAtIndex(F, base + i * innerStride);
                }
            }
            for (int d = rank - 2; d >= 0; d--) {
                idx[d]++;
                base += strides[d];
                if (idx[d] < shape.dim(d)) {
                    break;
                }
                base -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
    }

    /** Copies integer values out (I64, I32, U8, I8, BOOL; floats are truncated), row-major. */
    public long[] toLongArray() {
        MemorySegment seg = storage();
        long[] offsets = elementOffsets();
        long[] out = new long[offsets.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = DTypeCodec.readLong(seg, dtype, offsets[i]);
        }
        return out;
    }

    /** Converts to another dtype into {@code into} (a contiguous copy; floats round to nearest-even). */
    public Tensor convertTo(DType target, TensorScope into) {
        Tensor out = zeros(into, target, shape);
        MemorySegment src = storage();
        long[] offsets = elementOffsets();
        boolean integral = !target.isFloatingPoint() && !dtype.isFloatingPoint();
        for (int i = 0; i < offsets.length; i++) {
            if (integral) {
                DTypeCodec.writeLong(out.storage, target, i, DTypeCodec.readLong(src, dtype, offsets[i]));
            } else {
                DTypeCodec.writeFloat(out.storage, target, i, DTypeCodec.readFloat(src, dtype, offsets[i]));
            }
        }
        return out;
    }

    /** Converts to another dtype in the current scope (this tensor when the dtype already matches). */
    public Tensor to(DType target) {
        return target == dtype ? this : convertTo(target, TensorScope.current());
    }

    /** Storage index of every element in row-major logical order. */
    public long[] elementOffsets() {
        long[] out = new long[Math.toIntExact(numel())];
        int rank = shape.rank();
        int[] idx = new int[rank];
        long cur = offset;
        for (int i = 0; i < out.length; i++) {
            out[i] = cur;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                cur += strides[d];
                if (idx[d] < shape.dim(d)) {
                    break;
                }
                cur -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    private void requireF32() {
        if (dtype != DType.F32) {
            throw new IllegalStateException("element access needs an F32 tensor, this one is " + dtype + "; call to(DType.F32)");
        }
    }

    // ---- views (autograd-aware) -----------------------------------------------------------------------------

    /** A view with a new shape over the same elements (copies first when not contiguous). */
    public Tensor reshape(int... dims) {
        return Views.reshape(this, dims);
    }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int d0, int d1) {
        return Views.transpose(this, d0, d1);
    }

    /** Reorders dimensions (a view). */
    public Tensor permute(int... order) {
        return Views.permute(this, order);
    }

    /** Elements {@code [start, end)} of dimension {@code dim} (a view). */
    public Tensor slice(int dim, int start, int end) {
        return Views.slice(this, dim, start, end);
    }

    /** This tensor when already contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return Views.contiguous(this);
    }

    // ---- autograd -------------------------------------------------------------------------------------------

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf tensor as trainable (or frozen). */
    public Tensor requiresGrad(boolean value) {
        if (value && !dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("only floating-point tensors can require gradients, not " + dtype);
        }
        this.requiresGrad = value;
        return this;
    }

    public GradNode gradFn() {
        return gradFn;
    }

    /** Links this tensor to the node that produced it; called by {@link Autograd#record}. */
    public void setGradFn(GradNode node) {
        this.gradFn = node;
        this.requiresGrad = node != null || requiresGrad;
    }

    /** Accumulated gradient of a leaf, or null before any backward pass. */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient (null clears it). */
    public void setGrad(Tensor g) {
        this.grad = g;
    }

    /** A tensor sharing storage but cut from the graph (no gradient flows through it). */
    public Tensor detach() {
        return new Tensor(storage, scope, dtype, shape, strides, offset);
    }

    @Override
    public String toString() {
        return "Tensor" + (name == null ? "" : "(" + name + ")") + "[" + dtype + " " + shape + "]";
    }
}
