package dev.finetune4j.core.backend.opaque;

import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.backend.QuantizationKernels;
import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.MemoryCounter;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.backend.cpu.CpuBackend;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test-only second backend whose storage nothing outside it can read: its tensors hold an {@link OpaqueStorage}
 * handle, so {@link Tensor#hostSegment()} and the CPU kernels refuse them, and an op or layer that bypassed the
 * {@link Backend} would fail. Each kernel call looks its operands' memory up by handle, views it as CPU tensors
 * and runs the CPU backend's kernel on them, so results equal the CPU's: what the tests compare is that every
 * path went through the seam.
 */
public final class OpaqueBackend implements Backend {
    private final Device device;
    private final CpuBackend cpu = CpuBackend.instance();
    private final Map<OpaqueStorage, MemorySegment> memory = new ConcurrentHashMap<>();
    private final MemoryCounter counter = new MemoryCounter();
    private final AtomicLong hostTransfers = new AtomicLong();
    private final AtomicLong kernelCalls = new AtomicLong();
    private final int maxHeadDim;

    OpaqueBackend(Device device, int maxHeadDim) {
        this.device = device;
        this.maxHeadDim = maxHeadDim;
    }

    /** Host<->device copies so far (each {@link #copyFromHost} and {@link #copyToHost}). */
    public long hostTransfers() {
        return hostTransfers.get();
    }

    /** Kernel calls so far, all families. */
    public long kernelCalls() {
        return kernelCalls.get();
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public String deviceName() {
        return "opaque test backend over " + cpu.deviceName();
    }

    @Override
    public void synchronize() {
    }

    @Override
    public Storage allocate(DType dtype, long elements, boolean shortLived) {
        long bytes = Math.max(1, dtype.bytesFor(elements));
        Arena arena = Arena.ofShared();
        OpaqueStorage handle = new OpaqueStorage(this, arena, bytes);
        memory.put(handle, arena.allocate(bytes, 64));
        counter.allocated(bytes);
        return handle;
    }

    void free(OpaqueStorage handle) {
        if (memory.remove(handle) != null) {
            counter.freed(handle.byteSize());
        }
    }

    @Override
    public MemoryStats memory() {
        return counter.stats();
    }

    @Override
    public void resetPeak() {
        counter.resetPeak();
    }

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        hostTransfers.incrementAndGet();
        try (TensorScope views = TensorScope.detached()) {
            cpu.copyFromHost(src, cpuView(dst, views));
        }
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        hostTransfers.incrementAndGet();
        try (TensorScope views = TensorScope.detached()) {
            cpu.copyToHost(cpuView(src, views), dst);
        }
    }

    /** The same view (shape, strides, offset, dtype) over this backend's memory, as a CPU tensor. */
    private Tensor cpuView(Tensor t, TensorScope views) {
        if (!(t.storage() instanceof OpaqueStorage handle) || handle.owner() != this) {
            throw new IllegalArgumentException("the opaque backend was handed " + t + " on " + t.device());
        }
        MemorySegment bytes = memory.get(handle);
        // an NF4 tensor is always all of its storage (its scales follow no per-element size)
        Tensor whole = t.dtype() == DType.NF4 ? Tensor.wrap(views, bytes, t.dtype(), t.shape())
                : Tensor.wrap(views, bytes, t.dtype(), Shape.of(Math.toIntExact(bytes.byteSize() / t.dtype().byteSize())));
        return whole.view(t.shape(), t.strides(), t.offset());
    }

    /** A family whose every call maps its tensor arguments to CPU views and runs the CPU kernel. */
    private <F> F family(Class<F> type, F cpuFamily) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[]{type}, (proxy, method, args) -> {
            if (method.getDeclaringClass() == Object.class) {
                return method.invoke(this, args);
            }
            if (type == AttentionKernels.class) {
                if (method.getName().equals("maxHeadDim")) {
                    return maxHeadDim;
                }
                // as CUDA's kernels refuse heads past their width, so that a layer that ignored the width fails
                if (((Tensor) args[0]).dim(3) > maxHeadDim) {
                    throw new IllegalArgumentException("attention on " + device + ": heads " + ((Tensor) args[0])
                            .shape() + " are wider than its kernels take (" + maxHeadDim + ")");
                }
            }
            if (method.isDefault()) {
                // a many-tensor op: its default runs the one-tensor ops through this proxy, each call mapped
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            kernelCalls.incrementAndGet();
            try (TensorScope views = TensorScope.detached()) {
                Object[] mapped = args == null ? null : args.clone();
                for (int i = 0; mapped != null && i < mapped.length; i++) {
                    if (mapped[i] instanceof Tensor t) {
                        mapped[i] = cpuView(t, views);
                    }
                }
                return invoke(method, cpuFamily, mapped);
            }
        }));
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private final KernelFamilies kernels = new KernelFamilies(family(MatmulKernels.class, cpu.matmul()),
            family(CopyKernels.class, cpu.copy()), family(ElementwiseKernels.class, cpu.elementwise()),
            family(ReductionKernels.class, cpu.reductions()), family(SoftmaxKernels.class, cpu.softmax()),
            family(NormKernels.class, cpu.norms()), family(ActivationKernels.class, cpu.activations()),
            family(RotaryKernels.class, cpu.rotary()), family(AttentionKernels.class, cpu.attention()),
            family(EmbeddingKernels.class, cpu.embedding()), family(CrossEntropyKernels.class, cpu.crossEntropy()),
            family(DropoutKernels.class, cpu.dropout()), family(OptimizerKernels.class, cpu.optimizer()),
            family(QuantizationKernels.class, cpu.quantization()),
            family(RecurrentKernels.class, cpu.recurrent()));

    @Override
    public KernelFamilies kernels() {
        return kernels;
    }
}
