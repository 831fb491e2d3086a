package dev.finetune4j.core.backend.meta;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The device of tensors that have a shape and a dtype but no values yet (PyTorch's "meta" device): a model's
 * module tree is built on it, then every parameter is replaced by its weight from the checkpoint, so loading
 * never allocates a zeroed copy of the model first. Filling a meta tensor (norm weights start at one) does
 * nothing; any kernel that would read one fails.
 */
public final class MetaBackend implements Backend {
    private static final MetaBackend INSTANCE = new MetaBackend();

    private MetaBackend() {
    }

    /**
     * The backend of {@link dev.finetune4j.core.backend.Device#meta()}.
     *
     * @return the shared instance
     */
    public static MetaBackend instance() {
        return INSTANCE;
    }

    private static IllegalStateException noValues() {
        return new IllegalStateException("a tensor on the meta device has no values: it is a placeholder for a "
                + "weight that was never loaded (load the model with AutoModel, or copy values in first)");
    }

    @Override
    public Device device() {
        return Device.meta();
    }

    @Override
    public String deviceName() {
        return "meta (shapes only)";
    }

    @Override
    public void synchronize() {
    }

    @Override
    public Storage allocate(DType dtype, long elements, boolean shortLived) {
        return new MetaStorage(dtype.bytesFor(elements));
    }

    @Override
    public MemoryStats memory() {
        return new MemoryStats(0, 0);
    }

    @Override
    public void resetPeak() {
    }

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        throw noValues();
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        throw noValues();
    }

    /** Fills are accepted (a placeholder's initial values do not matter); every other kernel fails. */
    @Override
    public CopyKernels copy() {
        return COPY;
    }

    @Override
    public KernelFamilies kernels() {
        throw noValues();
    }

    private static final CopyKernels COPY = new CopyKernels() {
        @Override
        public void copy(Tensor src, Tensor dst) {
            throw noValues();
        }

        @Override
        public void fill(Tensor dst, float value) {
            // the initial values of placeholders do not matter: loading replaces them
        }
    };
}
