package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuNorms implements NormKernels {
    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, Tensor dw, Tensor db) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
