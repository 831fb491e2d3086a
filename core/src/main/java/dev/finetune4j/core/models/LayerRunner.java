package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Checkpoint;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * How a model runs each layer of its stack, shared by the decoders ({@link LanguageModel}) and the encoder
 * classifiers: in training mode the layer draws its dropout masks (and its adapters' masks) from a stream of its own,
 * seeded by the next draw of the model's stream, so that the recompute of gradient checkpointing redraws the same
 * masks; with checkpointing on, the layer runs through {@link Checkpoint}.
 *
 * @param training   whether the model is in training mode (dropout on)
 * @param checkpoint whether to recompute the layer in the backward instead of keeping its activations
 * @param stream     the model's dropout stream as it is now
 * @param useStream  makes a stream the model's (the one its dropouts and adapters draw from)
 */
public record LayerRunner(boolean training, boolean checkpoint, Supplier<SplittableRandom> stream,
                          Consumer<SplittableRandom> useStream) {

    /**
     * x: (B, T, C) -> the layer's output.
     *
     * @param layer   the layer (its trainable parameters take their gradients in the recompute)
     * @param x       its input
     * @param forward its forward on an input
     * @return its output
     */
    public Tensor run(Module layer, Tensor x, UnaryOperator<Tensor> forward) {
        UnaryOperator<Tensor> block = forward;
        if (training) {
            long seed = stream.get().nextLong();
            block = in -> {
                SplittableRandom modelStream = stream.get();
                useStream.accept(new SplittableRandom(seed));
                try {
                    return forward.apply(in);
                } finally {
                    useStream.accept(modelStream);
                }
            };
        }
        return checkpoint ? Checkpoint.apply(x, layer.trainableParameters().values(), block) : block.apply(x);
    }
}
