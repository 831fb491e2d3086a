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

        /**
         * Computes the inputs' gradients, given where they may be accumulated: only an {@link Accumulating} rule
         * uses {@code into}; others ignore it.
         *
         * @param dOut the gradient of the op's output
         * @param into per input, the gradient accumulated for it so far, or null ({@link Accumulating})
         * @return one gradient per input, null where none is needed
         */
        default Tensor[] apply(Tensor dOut, Tensor[] into) {
            return apply(dOut);
        }
    }

    /**
     * A backward rule that can add an input's gradient into the gradient accumulated for that input so far, in place,
     * instead of returning a new tensor for the backward pass to add: a product then accumulates into it (a GEMM
     * with beta = 1) and the separate read-read-write sum of two (rows, hidden) float32 gradients disappears. The
     * backward pass offers {@code into[k]} only when it may be changed: a contiguous float32 tensor shaped like input
     * k whose memory no other waiting gradient shares. A rule that adds into it returns that same tensor as input k's
     * gradient; a rule may also ignore it and return a new gradient.
     */
    @FunctionalInterface
    public interface Accumulating extends Backward {
        @Override
        Tensor[] apply(Tensor dOut, Tensor[] into);

        /** Without accumulators. */
        @Override
        default Tensor[] apply(Tensor dOut) {
            return apply(dOut, new Tensor[0]);
        }

        /**
         * The accumulator offered for input {@code k}.
         *
         * @param into the accumulators the rule was given
         * @param k the input's index
         * @return the gradient of input {@code k} accumulated so far, to add into in place, or null
         */
        static Tensor of(Tensor[] into, int k) {
            return k < into.length ? into[k] : null;
        }
    }
}
