package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelProfile;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A tensor several ops read gets its gradient summed by those ops themselves where they can add into it: the
 * residual stream of a decoder layer, normalised and read by three linears (q, k and v) and added back. On the fake
 * CUDA device the backward launches one elementwise add (the leaf's gradient), not four: the second and third
 * linears' products add into the norm's gradient (beta = 1) and the norm's backward adds into the residual's. The values are
 * checked against finite differences in {@code AccumulatingBackwardTest}.
 */
class AccumulatedGradientsTest {
    @Test
    void aResidualReadByANormAndThreeLinearsNeedsNoSeparateAdds() {
        Device gpu = FakeCudaProvider.device();
        Backend backend = gpu.backend();
        try (TensorScope scope = TensorScope.open()) {
            Tensor leaf = Tensor.of(gpu, scope, GradCheck.randn(1, 4 * 8), Shape.of(4, 8)).requiresGrad(true);
            Tensor w = Tensor.of(gpu, scope, GradCheck.randn(2, 8), Shape.of(8));
            Tensor[] weights = new Tensor[4];
            for (int i = 0; i < 4; i++) {
                weights[i] = Tensor.of(gpu, scope, GradCheck.randn(3 + i, 8 * 8), Shape.of(8, 8));
            }
            Tensor x = Elementwise.scale(leaf, 1f);
            Tensor h = Norms.rmsNorm(x, w, 1e-6f);
            Tensor y = x;
            for (int i = 0; i < 3; i++) {
                y = Elementwise.add(y, Matmul.linear(h, weights[i], null));
            }
            // the layer's output read by a last linear, as by the next layer: the residual's gradient is then one
            // this backward pass made (the caller's seed is never changed in place)
            Tensor out = Matmul.linear(y, weights[3], null);
            Tensor seed = Tensor.of(gpu, scope, GradCheck.randn(9, 4 * 8), Shape.of(4, 8));
            backend.startProfiling();
            Autograd.backward(out, seed);
            KernelProfile profile = backend.stopProfiling();
            long adds = profile.entries().stream().filter(e -> e.name().equals("elementwise.binary"))
                    .mapToLong(KernelProfile.Entry::calls).sum();
            assertEquals(1, adds, profile.table(20));
        }
    }
}
