package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

/**
 * One recorded operation in the autograd graph: its inputs and the rule that turns the gradient of its output
 * into gradients of its inputs.
 *
 * @param name     the op's name, for error messages
 * @param inputs   the tensors the op read; entries that need no gradient may be null
 * @param backward maps {@code dOut} to one gradient per input (null where none is needed)
 */
public record GradNode(String name, Tensor[] inputs, Backward backward) {

    /** The backward rule of an op: one gradient per input, each shaped like that input. */
    @FunctionalInterface
    public interface Backward {
        /**
         * Computes the inputs' gradients.
         *
         * @param dOut the gradient of the op's output
         * @return one gradient per input, null where none is needed
         */
        Tensor[] apply(Tensor dOut);
    }
}
