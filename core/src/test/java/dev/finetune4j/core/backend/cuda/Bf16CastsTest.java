package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Bf16Casts;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelProfile;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A step's masters rounded to bf16 once ({@link Bf16Casts}) give the products exactly what rounding each master at
 * each use gives, and on the fake CUDA device the step's copies of the masters become one multi-tensor launch.
 * Three LoRA linears (x A^T B^T beside a frozen W) and a trainable full weight read twice, under BF16_MIXED.
 */
class Bf16CastsTest {
    private static final int LAYERS = 3;

    @Test
    void castsOnceAStepGiveTheValuesOfCastingAtEveryUse() {
        float[][] each = step(Device.cpu(), false, null);
        float[][] once = step(Device.cpu(), true, null);
        for (int i = 0; i < each.length; i++) {
            assertArrayEquals(each[i], once[i], 0f, "output or gradient " + i);
        }
    }

    @Test
    void aTransposedViewOfAMasterIsNotTakenForTheMaster() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.of(Device.cpu(), scope, GradCheck.randn(4, 3 * 8), Shape.of(3, 8));
            Tensor square = master(Device.cpu(), scope, 5, 8, 8);
            float[] expected;
            try (var mixed = Precision.BF16_MIXED.use()) {
                expected = Matmul.linear(x, square.transpose(0, 1), null).toFloatArray();
            }
            try (var casts = Bf16Casts.of(Precision.BF16_MIXED, List.of(square));
                 var mixed = Precision.BF16_MIXED.use()) {
                // same memory, offset and shape as the master, another layout
                assertArrayEquals(expected, Matmul.linear(x, square.transpose(0, 1), null).toFloatArray(), 0f);
            }
        }
    }

    @Test
    void theMastersAreRoundedInOneLaunchInsteadOfOneAtEachUse() {
        Device gpu = FakeCudaProvider.device();
        KernelProfile each = profile(gpu, false);
        KernelProfile once = profile(gpu, true);
        // A and B of each LoRA linear in its forward; the full weight at its two reads and in the second one's
        // backward (the first one's input, x, needs no gradient)
        assertEquals(calls(each, "copy.copy_view") - 2 * LAYERS - 3, calls(once, "copy.copy_view"), once.table(20));
        assertEquals(0, calls(each, "copy.copy_multi"));
        assertEquals(1, calls(once, "copy.copy_multi"), once.table(20));
    }

    private static KernelProfile profile(Device device, boolean castOnce) {
        KernelProfile[] profile = new KernelProfile[1];
        step(device, castOnce, profile);
        return profile[0];
    }

    private static long calls(KernelProfile profile, String kernel) {
        return profile.entries().stream().filter(e -> e.name().equals(kernel)).mapToLong(KernelProfile.Entry::calls)
                .sum();
    }

    /**
     * One forward and backward under BF16_MIXED; returns the output, then every master's gradient. With a profile
     * slot, profiles the device's work from the casts to the end of the backward.
     */
    private static float[][] step(Device device, boolean castOnce, KernelProfile[] profile) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.of(device, scope, GradCheck.randn(1, 6 * 16), Shape.of(6, 16));
            Tensor full = master(device, scope, 2, 16, 16);
            Tensor[] frozen = new Tensor[LAYERS];
            Tensor[] a = new Tensor[LAYERS];
            Tensor[] b = new Tensor[LAYERS];
            for (int l = 0; l < LAYERS; l++) {
                frozen[l] = Tensor.of(device, scope, GradCheck.randn(10 + l, 16 * 16), Shape.of(16, 16))
                        .to(DType.BF16);
                a[l] = master(device, scope, 20 + l, 4, 16);
                b[l] = master(device, scope, 30 + l, 16, 4);
            }
            List<Tensor> masters = List.of(full, a[0], b[0], a[1], b[1], a[2], b[2]);
            if (profile != null) {
                device.backend().startProfiling();
            }
            Tensor out;
            try (var casts = Bf16Casts.of(castOnce ? Precision.BF16_MIXED : Precision.F32, masters);
                 var mixed = Precision.BF16_MIXED.use()) {
                Tensor h = Matmul.linear(x, full, null);
                for (int l = 0; l < LAYERS; l++) {
                    h = LowRank.linear(h, frozen[l], null, a[l], b[l], 0.5f);
                }
                out = Matmul.linear(h, full, null);
                Autograd.backward(out, Tensor.of(device, scope, GradCheck.randn(3, 6 * 16), Shape.of(6, 16))
                        .to(out.dtype()));
            }
            if (profile != null) {
                profile[0] = device.backend().stopProfiling();
            }
            float[][] values = new float[1 + masters.size()][];
            values[0] = out.toFloatArray();
            for (int i = 0; i < masters.size(); i++) {
                values[1 + i] = masters.get(i).grad().toFloatArray();
            }
            return values;
        }
    }

    private static Tensor master(Device device, TensorScope scope, long seed, int rows, int cols) {
        float[] v = GradCheck.randn(seed, rows * cols);
        for (int i = 0; i < v.length; i++) {
            v[i] *= 0.25f;
        }
        return Tensor.of(device, scope, v, Shape.of(rows, cols)).requiresGrad(true);
    }
}
