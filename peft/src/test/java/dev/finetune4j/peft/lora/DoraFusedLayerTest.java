package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.BaseLinear;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DoRA's fused layer ({@link dev.finetune4j.core.autograd.LowRank#weightDecomposed}) against PEFT's formula written
 * out in elementwise ops, y = base(x) + (m/n - 1)(base(x) - bias, or dropout(x) W^T) + (m/n) s B A dropout(x): the
 * outputs and the gradients of the input, the bias, A, B and the magnitude agree, with and without dropout, for an
 * (out, in) weight and for GPT-2's (in, out) Conv1D one.
 */
class DoraFusedLayerTest {
    private static final int IN = 6;
    private static final int OUT = 4;
    private static final float SCALING = 1.5f;

    @ParameterizedTest(name = "dropout={0} fanInFanOut={1}")
    @CsvSource({"false,false", "true,false", "false,true", "true,true"})
    void fusedLayerComputesPeftsFormula(boolean dropout, boolean fanInFanOut) {
        SplittableRandom random = new SplittableRandom(5);
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            Linear linear = new Linear(params, IN, OUT, true, fanInFanOut);
            fill(linear.weight(), random, 0);
            fill(linear.parameter("bias"), random, 0);
            linear.parameter("bias").requiresGrad(true);
            LoraLinear layer = new LoraLinear(linear, BaseLinear.of(linear, "proj"), 2, SCALING, 0, new DoraVariant(),
                    params, SplittableRandom::new);
            fill(layer.loraA(), random, 0);
            fill(layer.loraB(), random, 0);
            // magnitudes away from the norms, so that the (m/n - 1) term counts
            fill(layer.parameter(DoraVariant.MAGNITUDE), random, 1);
            for (Tensor t : new Tensor[]{layer.loraA(), layer.loraB(), layer.parameter(DoraVariant.MAGNITUDE)}) {
                t.requiresGrad(true);
            }
            Tensor x = Tensor.zeros(3, IN);
            fill(x, random, 0);
            x.requiresGrad(true);
            // a fixed mask scaled by 1 / (1 - p) for p = 0.5, as dropout makes; made once per graph
            Tensor mask = Tensor.of(new float[]{2, 0, 2, 2, 0, 2}, IN);
            Supplier<Tensor> drop = () -> dropout ? Elementwise.mul(x, mask) : x;
            Tensor r = Tensor.zeros(3, OUT);
            fill(r, random, 0);

            Tensor fused = layer.variant().forward(layer, x, drop.get());
            Map<String, float[]> fusedGrads = gradients(fused, r, layer, linear, x);
            Tensor dropped = drop.get();
            Tensor result = linear.forward(x);
            Tensor baseResult = dropout ? Matmul.linear(dropped, layer.base().weightTensor(), null)
                    : Elementwise.sub(result, linear.parameter("bias"));
            Tensor lora = layer.layer("lora_B").forward(layer.layer("lora_A").forward(dropped));
            Tensor composed = DoraVariant.output(result, baseResult, DoraVariant.scale(layer), lora, SCALING);
            Map<String, float[]> composedGrads = gradients(composed, r, layer, linear, x);

            assertClose("output", composed.toFloatArray(), fused.toFloatArray());
            composedGrads.forEach((name, expected) -> assertClose(name + " gradient", expected, fusedGrads.get(name)));
        }
    }

    /**
     * The norms m / n divides by, ||W + s B A|| per output row, against the rows of W + s B A summed in double on the
     * host (DoraVariant expands the square so as not to make that matrix on the device).
     */
    @ParameterizedTest(name = "fanInFanOut={0}")
    @CsvSource({"false", "true"})
    void normsAreTheRowNormsOfTheUpdatedWeight(boolean fanInFanOut) {
        SplittableRandom random = new SplittableRandom(7);
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            Linear linear = new Linear(params, IN, OUT, false, fanInFanOut);
            fill(linear.weight(), random, 0);
            LoraLinear layer = new LoraLinear(linear, BaseLinear.of(linear, "proj"), 2, SCALING, 0, new DoraVariant(),
                    params, SplittableRandom::new);
            fill(layer.loraA(), random, 0);
            fill(layer.loraB(), random, 0);
            layer.parameter(DoraVariant.MAGNITUDE).copyFrom(new float[]{1, 1, 1, 1});
            float[] w = layer.base().weightTensor().toFloatArray();
            float[] a = layer.loraA().toFloatArray();
            float[] b = layer.loraB().toFloatArray();
            float[] inverse = DoraVariant.scale(layer).toFloatArray();
            for (int o = 0; o < OUT; o++) {
                double sum = 0;
                for (int i = 0; i < IN; i++) {
                    double v = w[o * IN + i] + SCALING * (b[o * 2] * a[i] + b[o * 2 + 1] * a[IN + i]);
                    sum += v * v;
                }
                assertEquals(Math.sqrt(sum), 1 / inverse[o], 1e-5 * Math.sqrt(sum), "row " + o);
            }
        }
    }

    /** d sum(y r) of the input, the bias, A, B and m; resets the gradients afterwards. */
    private static Map<String, float[]> gradients(Tensor y, Tensor r, LoraLinear layer, Linear linear, Tensor x) {
        Autograd.backward(Reductions.sum(Elementwise.mul(y, r)));
        Map<String, Tensor> leaves = new LinkedHashMap<>();
        leaves.put("x", x);
        leaves.put("bias", linear.parameter("bias"));
        leaves.put("A", layer.loraA());
        leaves.put("B", layer.loraB());
        leaves.put("m", layer.parameter(DoraVariant.MAGNITUDE));
        Map<String, float[]> out = new LinkedHashMap<>();
        leaves.forEach((name, t) -> {
            out.put(name, t.grad().toFloatArray());
            t.setGrad(null);
        });
        return out;
    }

    private static void fill(Tensor t, SplittableRandom random, double offset) {
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (offset + random.nextDouble(-1, 1));
        }
        t.copyFrom(v);
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-5 * (1 + Math.abs(expected[i])),
                    what + " [" + i + "]: PEFT's formula " + expected[i] + ", fused " + actual[i]);
        }
    }
}
