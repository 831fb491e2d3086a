package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * xIELU against a float64 reference written here from transformers' {@code XIELUActivation._xielu_python}: the input's
 * and both raw scalars' gradients by finite differences, the eps region by hand, and the bf16 output.
 */
class XieluTest {
    private static final double BETA = 0.5;
    private static final double EPS = -1e-6;

    private static double softplus(double r) {
        return Math.log(1 + Math.exp(r));
    }

    /** torch.where(x > 0, ap x x + beta x, (expm1(min(x, eps)) - x) an + beta x), ap and an through softplus. */
    private static double[] reference(double[] x, double rawP, double rawN) {
        double ap = softplus(rawP);
        double an = BETA + softplus(rawN);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] > 0 ? ap * x[i] * x[i] + BETA * x[i] : (Math.expm1(Math.min(x[i], EPS)) - x[i]) * an + BETA * x[i];
        }
        return y;
    }

    /** Inputs N(0, 1.5^2), kept 0.05 away from 0 where the branches meet (their second derivatives differ). */
    private static float[] inputs(long seed, int n) {
        float[] x = GradCheck.randn(seed, n);
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.abs(x[i]) < 0.05f ? x[i] + Math.copySign(0.1f, x[i]) : x[i] * 1.5f;
        }
        return x;
    }

    @Test
    void inputAndBothScalarsMatchFiniteDifferences() {
        // raw scalars as Apertus's layers hold them: softplus gives ap and an - beta around 0.3 to 1.5
        for (float[] raw : new float[][]{{0.2f, -1.05f}, {1.1f, 0.4f}}) {
            GradCheck.of("xielu " + raw[0] + ", " + raw[1], t -> Xielu.apply(t[0], t[1], t[2]))
                    .input(inputs(7, 30), 5, 6).input(new float[]{raw[0]}, 1).input(new float[]{raw[1]}, 1)
                    .reference(d -> reference(d[0], d[1][0], d[2][0])).run();
        }
    }

    /**
     * Between eps and 0 the exponential reads eps, not x (min(x, eps)): its gradient does not reach x there, half of it
     * does at eps itself (PyTorch's min splits a tie), all of it below.
     */
    @Test
    void theEpsRegionReadsTheBoundAsTorchDoes() {
        double rawP = 0.3;
        double rawN = -0.7;
        double an = BETA + softplus(rawN);
        float[] x = {-5e-7f, 0f, (float) EPS, -2f};
        try (var scope = TensorScope.open()) {
            Tensor in = Tensor.of(x, 4).requiresGrad(true);
            Tensor alphaN = Tensor.of(new float[]{(float) rawN}, 1).requiresGrad(true);
            Tensor y = Xielu.apply(in, Tensor.of(new float[]{(float) rawP}, 1), alphaN);
            float[] out = y.toFloatArray();
            for (int i = 0; i < x.length; i++) {
                double bounded = Math.expm1(Math.min((double) x[i], (float) EPS));
                assertEquals((float) ((bounded - x[i]) * an + BETA * x[i]), out[i], 1e-7, "y(" + x[i] + ")");
            }
            Autograd.backward(y, Tensor.of(new float[]{1, 1, 1, 1}, 4));
            float[] dx = in.grad().toFloatArray();
            assertEquals(BETA - an, dx[0], 1e-6, "between eps and 0 only -x and beta x move");
            assertEquals(BETA - an, dx[1], 1e-6, "at 0 (the negative branch, x > 0 being false)");
            assertEquals((0.5 * Math.exp(EPS) - 1) * an + BETA, dx[2], 1e-6, "at eps, half through min");
            assertEquals((Math.exp(-2) - 1) * an + BETA, dx[3], 1e-6, "below eps");
            double factors = 0;
            for (float v : x) {
                factors += Math.expm1(Math.min((double) v, (float) EPS)) - v;
            }
            assertEquals(factors / (1 + Math.exp(-rawN)), alphaN.grad().toFloatArray()[0], 1e-6);
        }
    }

    /** A frozen scalar (LoRA's base) gets no gradient; the trained one still does. */
    @Test
    void frozenScalarsGetNoGradient() {
        try (var scope = TensorScope.open()) {
            Tensor alphaP = Tensor.of(new float[]{0.2f}, 1);
            Tensor alphaN = Tensor.of(new float[]{0.1f}, 1);
            Tensor x = Tensor.of(inputs(3, 8), 2, 4).requiresGrad(true);
            Autograd.backward(Reductions.sum(Xielu.apply(x, alphaP, alphaN)));
            assertNull(alphaP.grad());
            assertNull(alphaN.grad());
            assertEquals(8, x.grad().numel());
        }
    }

    /** Under BF16_MIXED the kernel writes the float32 result rounded once to bf16. */
    @Test
    void bf16OutputIsTheFloat32ResultRoundedOnce() {
        float[] x = inputs(11, 24);
        try (var scope = TensorScope.open()) {
            Tensor alphaP = Tensor.of(new float[]{0.2f}, 1);
            Tensor alphaN = Tensor.of(new float[]{-1.05f}, 1);
            float[] f32 = Xielu.apply(Tensor.of(x, 4, 6), alphaP, alphaN).toFloatArray();
            try (var p = Precision.BF16_MIXED.use()) {
                Tensor y = Xielu.apply(Tensor.of(x, 4, 6), alphaP, alphaN);
                assertEquals(DType.BF16, y.dtype());
                float[] bf16 = y.toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    assertEquals(DTypeConversions.bf16ToFloat(DTypeConversions.floatToBf16(f32[i])), bf16[i], "at " + i);
                }
            }
        }
    }

    @Test
    void scalarsMustHoldOneValue() {
        try (var scope = TensorScope.open()) {
            Tensor two = Tensor.of(new float[]{0.1f, 0.2f}, 2);
            Tensor one = Tensor.of(new float[]{0.1f}, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Xielu.apply(Tensor.of(new float[]{1f}, 1), two, one));
            assertEquals(true, e.getMessage().contains("must each hold one value"), e.getMessage());
        }
    }
}
