package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replacing a module's parameters: unknown names and other shapes are refused, other dtypes are not. */
class ModuleMisuseTest {

    @Test
    void aReplacementKeepsTheParametersShape() {
        try (var weights = TensorScope.detached()) {
            Linear linear = new Linear(weights, 3, 2, false);
            Tensor original = linear.weight();
            var shape = assertThrows(IllegalArgumentException.class,
                    () -> linear.setParameter("weight", Tensor.zeros(weights, DType.F32, Shape.of(3, 2))));
            assertTrue(shape.getMessage().contains("[2, 3]") && shape.getMessage().contains("'weight'"), shape.getMessage());
            assertSame(original, linear.weight(), "the refused replacement changed nothing");
            var unknown = assertThrows(IllegalArgumentException.class,
                    () -> linear.setParameter("bias", Tensor.zeros(weights, DType.F32, Shape.of(2))));
            assertTrue(unknown.getMessage().contains("'bias'") && unknown.getMessage().contains("[weight]"), unknown.getMessage());
            Tensor bf16 = Tensor.zeros(weights, DType.BF16, Shape.of(2, 3));
            linear.setParameter("weight", bf16);
            assertSame(bf16, linear.weight(), "a frozen bf16 copy of the same shape is a valid replacement");
            assertEquals("weight", bf16.name());
        }
    }
}
