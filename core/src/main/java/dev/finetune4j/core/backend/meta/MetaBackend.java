package dev.finetune4j.core.backend.meta;

import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.SoftmaxKernels;
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

    @Override
    public CopyKernels copy() {
        return COPY;
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

    @Override
    public MatmulKernels matmul() {
        throw noValues();
    }

    @Override
    public ElementwiseKernels elementwise() {
        throw noValues();
    }

    @Override
    public ReductionKernels reductions() {
        throw noValues();
    }

    @Override
    public SoftmaxKernels softmax() {
        throw noValues();
    }

    @Override
    public NormKernels norms() {
        throw noValues();
    }

    @Override
    public ActivationKernels activations() {
        throw noValues();
    }

    @Override
    public RotaryKernels rotary() {
        throw noValues();
    }

    @Override
    public AttentionKernels attention() {
        throw noValues();
    }

    @Override
    public EmbeddingKernels embedding() {
        throw noValues();
    }

    @Override
    public CrossEntropyKernels crossEntropy() {
        throw noValues();
    }

    @Override
    public DropoutKernels dropout() {
        throw noValues();
    }

    @Override
    public OptimizerKernels optimizer() {
        throw noValues();
    }
}
