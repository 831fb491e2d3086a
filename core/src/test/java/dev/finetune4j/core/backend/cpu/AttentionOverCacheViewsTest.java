package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Attention over the filled part of a KV cache's buffer (a view with a head stride of capacity x D, not S x D)
 * reads the keys and values where they lie, and computes bit for bit what it computes on contiguous copies of them
 * (what it was handed before), forward and backward, with grouped-query heads and a causal mask over cached
 * positions.
 */
class AttentionOverCacheViewsTest {
    private static final int B = 2;
    private static final int H = 4;
    private static final int HKV = 2;
    private static final int T = 3;
    private static final int S = 7;
    private static final int CAPACITY = 10;
    private static final int D = 8;

    private static float[] random(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    @Test
    void stridedCacheViewsGiveTheOutputsAndGradientsOfContiguousCopies() {
        SplittableRandom random = new SplittableRandom(7);
        try (var scope = TensorScope.open()) {
            Tensor q = Tensor.of(random(random, B * H * T * D), B, H, T, D).requiresGrad(true);
            Tensor keyBuffer = Tensor.of(random(random, B * HKV * CAPACITY * D), B, HKV, CAPACITY, D).requiresGrad(true);
            Tensor valueBuffer = Tensor.of(random(random, B * HKV * CAPACITY * D), B, HKV, CAPACITY, D).requiresGrad(true);
            Tensor weights = Tensor.of(random(random, B * H * T * D), B, H, T, D);
            Tensor k = keyBuffer.slice(2, 0, S);
            Tensor v = valueBuffer.slice(2, 0, S);
            assertSame(CpuTensors.storageArray(keyBuffer), CpuAttention.Rows.of(k.detach()).values(),
                    "the kernel reads the cache's own array, no copy");

            Tensor out = Attention.scaledDotProduct(q, k, v, AttentionMask.causalOnly(), 0.35f);
            Autograd.backward(Reductions.sum(Elementwise.mul(out, weights)));

            Tensor q2 = Tensor.of(q.toFloatArray(), B, H, T, D).requiresGrad(true);
            Tensor k2 = Tensor.of(k.toFloatArray(), B, HKV, S, D).requiresGrad(true);
            Tensor v2 = Tensor.of(v.toFloatArray(), B, HKV, S, D).requiresGrad(true);
            Tensor expected = Attention.scaledDotProduct(q2, k2, v2, AttentionMask.causalOnly(), 0.35f);
            Autograd.backward(Reductions.sum(Elementwise.mul(expected, weights)));

            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            assertArrayEquals(q2.grad().toFloatArray(), q.grad().toFloatArray());
            assertArrayEquals(k2.grad().toFloatArray(), keyBuffer.grad().slice(2, 0, S).toFloatArray());
            assertArrayEquals(v2.grad().toFloatArray(), valueBuffer.grad().slice(2, 0, S).toFloatArray());
        }
    }
}
