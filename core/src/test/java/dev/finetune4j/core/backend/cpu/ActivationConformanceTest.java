package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * SwiGLU (its sigmoid from the Vector API kernels) against the scalar backend, forward and backward, within
 * 1e-5 relative: the sigmoids agree to 2e-7 (MathConformanceTest) and silu' multiplies 1 - sigmoid by the gate.
 */
class ActivationConformanceTest {
    private static final double TOL = 1e-5;

    @Test
    void swigluMatchesTheScalarBackend() {
        try (var s = TensorScope.open()) {
            int n = 70_001; // more than one parallel chunk, not a multiple of a vector length
            Tensor gate = Tensor.of(gaussian(1, n, 6), n);
            Tensor up = Tensor.of(gaussian(2, n, 1), n);
            Tensor dy = Tensor.of(gaussian(3, n, 1), n);
            float[][] fast = swiglu(CpuBackend.instance(), gate, up, dy);
            float[][] scalar = swiglu(CpuBackend.scalar(), gate, up, dy);
            String[] names = {"y", "dGate", "dUp"};
            for (int k = 0; k < names.length; k++) {
                for (int i = 0; i < n; i++) {
                    float want = scalar[k][i];
                    assertEquals(want, fast[k][i], TOL * Math.max(1, Math.abs(want)), names[k] + " at " + i);
                }
            }
        }
    }

    /** y, dGate, dUp. */
    private static float[][] swiglu(CpuBackend backend, Tensor gate, Tensor up, Tensor dy) {
        Shape shape = gate.shape();
        Tensor y = Tensor.zeros(shape);
        Tensor dGate = Tensor.zeros(shape);
        Tensor dUp = Tensor.zeros(shape);
        backend.activations().swiglu(gate, up, y);
        backend.activations().swigluBackward(gate, up, dy, dGate, dUp);
        return new float[][]{y.toFloatArray(), dGate.toFloatArray(), dUp.toFloatArray()};
    }

    static float[] gaussian(long seed, int n, double sd) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * sd);
        }
        return v;
    }
}
