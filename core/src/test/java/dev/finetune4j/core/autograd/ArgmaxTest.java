package dev.finetune4j.core.autograd;

import dev.finetune4j.core.generate.LogitsProcessing;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Reductions#argmax}, greedy decoding's choice on the device, against {@link LogitsProcessing#argmax}, the
 * host's choice, row by row: random rows, ties (the first wins), NaN (never wins; first in a row, it gives 0), all
 * -inf, a bf16 matrix, and a transposed view (copied to adjacent columns first).
 */
class ArgmaxTest {

    @Test
    void eachRowsColumnIsTheHostsGreedyChoice() {
        int cols = 50;
        float[] v = GradCheck.randn(7, 6 * cols);
        v[3] = 9f; // row 0: a tie at 3 and 40
        v[40] = 9f;
        v[cols] = Float.NaN; // row 1: NaN first
        v[2 * cols + 5] = Float.NaN; // row 2: NaN elsewhere
        Arrays.fill(v, 3 * cols, 4 * cols, Float.NEGATIVE_INFINITY); // row 3: all -inf
        v[5 * cols + 49] = 9f; // row 5: the last column
        try (var scope = TensorScope.open()) {
            Tensor x = Tensor.of(v, 6, cols);
            assertArrayEquals(hostChoices(v, 6, cols), Reductions.argmax(x).toLongArray());
            Tensor bf16 = x.to(DType.BF16);
            assertArrayEquals(hostChoices(bf16.toFloatArray(), 6, cols), Reductions.argmax(bf16).toLongArray());
            Tensor transposed = Tensor.of(v, cols, 6).transpose(0, 1);
            assertArrayEquals(hostChoices(transposed.contiguous().toFloatArray(), 6, cols),
                    Reductions.argmax(transposed).toLongArray());
            assertThrows(IllegalArgumentException.class, () -> Reductions.argmax(Tensor.of(v, 6 * cols)));
        }
    }

    private static long[] hostChoices(float[] v, int rows, int cols) {
        long[] out = new long[rows];
        for (int r = 0; r < rows; r++) {
            out[r] = LogitsProcessing.argmax(Arrays.copyOfRange(v, r * cols, (r + 1) * cols));
        }
        return out;
    }
}
