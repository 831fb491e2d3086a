package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Collection;
import java.util.function.UnaryOperator;

/**
 * Gradient checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost"): a block's forward
 * runs without recording, so none of its intermediate activations stay alive; only its input is kept, and the
 * backward re-runs the forward from that input with recording on before differentiating it. One extra forward
 * per block buys activation memory of one block instead of all of them.
 *
 * <p>The block must be a pure function of its input and of state that the re-run sees again unchanged (weights
 * are not updated between forward and backward; a dropout stream must be reset by {@code block} itself, so that
 * the re-run draws the same masks). Tensors the block reads that require gradients must be leaves (parameters),
 * listed in {@code parameters}: the re-run's backward accumulates their gradients directly.
 */
public final class Checkpoint {
    private Checkpoint() {
    }

    /**
     * x: any shape -> {@code block(x)}, recording one node whose backward recomputes {@code block}.
     *
     * @param x the block's input; it is kept for the recompute
     * @param parameters the trainable leaves {@code block} reads (their gradients accumulate in the recompute)
     * @param block the forward of the block; called twice when gradients are needed
     * @return the block's output, a copy in the caller's current scope
     */
    public static Tensor apply(Tensor x, Collection<Tensor> parameters, UnaryOperator<Tensor> block) {
        Tensor[] inputs = new Tensor[1 + parameters.size()];
        inputs[0] = x;
        int k = 1;
        for (Tensor p : parameters) {
            inputs[k++] = p;
        }
        if (!Autograd.needsGrad(inputs)) {
            return block.apply(x);
        }
        TensorScope caller = TensorScope.current();
        Precision precision = Precision.current(); // the backward runs in F32: the recompute must round as this run did
        Tensor out;
        // the block's intermediates live in an inner scope that closes here; only the output is copied out
        try (var ng = Autograd.noGrad(); var activations = TensorScope.open()) {
            Tensor y = block.apply(x);
            out = y.copyTo(y.device(), caller);
        }
        return Autograd.record("checkpoint", out, dOut -> recompute(x, block, precision, dOut, inputs.length), inputs);
    }

    /** Re-runs the block in the forward's precision with recording on and back-propagates {@code dOut}; returns dx. */
    private static Tensor[] recompute(Tensor x, UnaryOperator<Tensor> block, Precision precision, Tensor dOut, int inputs) {
        Tensor[] grads = new Tensor[inputs];
        // a leaf over x's storage: the recompute's graph stops here, and dx lands in its grad, made here in the
        // caller's scope (the outer backward's) so that it is freed once used instead of at the end of the step
        Tensor input = x.detach().requiresGrad(x.requiresGrad());
        if (x.requiresGrad()) {
            input.setGrad(Tensor.zeros(x.device(), x.shape()));
        }
        try (var grad = Autograd.enableGrad(); var activations = TensorScope.open()) {
            Tensor y;
            try (var rounding = precision.use()) {
                y = block.apply(input);
            }
            if (y.requiresGrad()) {
                Autograd.backward(y, dOut);
            }
        }
        grads[0] = input.grad();
        return grads;
    }
}
