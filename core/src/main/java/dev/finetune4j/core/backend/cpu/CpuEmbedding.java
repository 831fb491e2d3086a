package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuEmbedding implements EmbeddingKernels {
    @Override
    public void gather(Tensor weight, Tensor ids, Tensor out) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void scatterAdd(Tensor dOut, Tensor ids, Tensor dWeight) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
