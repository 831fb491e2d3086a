package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * ReductionKernels.sumTo on the CPU, a broadcast's gradient summed back onto its operand's shape: every pattern of kept
 * and summed dimensions equals a loop written out here, bit for bit (each output's terms added in row-major order),
 * whether it takes the path for one run of summed dimensions or the general one.
 */
class CpuSumToTest {

    @ParameterizedTest(name = "(3, 4, 5) onto ({0}, {1}, {2})")
    @CsvSource({"3, 4, 1", "1, 4, 5", "3, 1, 5", "1, 1, 5", "3, 4, 5", "1, 4, 1", "3, 1, 1"})
    void everyPatternSumsInRowMajorOrder(int d0, int d1, int d2) {
        int[] in = {3, 4, 5};
        int[] onto = {d0, d1, d2};
        float[] x = new float[60];
        SplittableRandom random = new SplittableRandom(d0 * 100 + d1 * 10 + d2);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[] expected = new float[d0 * d1 * d2];
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 4; b++) {
                for (int c = 0; c < 5; c++) {
                    int target = ((d0 == 1 ? 0 : a) * d1 + (d1 == 1 ? 0 : b)) * d2 + (d2 == 1 ? 0 : c);
                    expected[target] += x[(a * 4 + b) * 5 + c];
                }
            }
        }
        try (TensorScope scope = TensorScope.detached()) {
            Tensor out = Tensor.zeros(scope, DType.F32, Shape.of(onto));
            CpuBackend.instance().reductions().sumTo(Tensor.of(scope, x, in), out);
            assertArrayEquals(expected, out.toFloatArray());
        }
    }
}
