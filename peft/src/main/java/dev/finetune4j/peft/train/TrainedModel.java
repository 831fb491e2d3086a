package dev.finetune4j.peft.train;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;

import java.nio.file.Path;
import java.util.Map;

/**
 * What the training loop and its checkpoints need of the model they train, a {@link PeftModel} or a
 * {@link PeftClassifier}: the adapter's parameters, the modes, the dropout seed and saving.
 */
interface TrainedModel {

    /** The adapter's trainable tensors by PEFT's saved names, in a stable order. */
    Map<String, Tensor> trainableParameters();

    /** Training mode (dropout on) or eval mode. */
    void train(boolean on);

    /** Saves the adapter in PEFT's format into {@code dir}. */
    void save(Path dir);

    /** Turns gradient checkpointing of the model's layers on or off. */
    void gradientCheckpointing(boolean on);

    /** Seeds the dropout stream of the next forward pass. */
    void seedDropout(long seed);

    /** The size of the input vocabulary, which bounds the padding id. */
    int vocabSize();

    static TrainedModel of(PeftModel m) {
        return new TrainedModel() {
            @Override
            public Map<String, Tensor> trainableParameters() {
                return m.trainableParameters();
            }

            @Override
            public void train(boolean on) {
                m.train(on);
            }

            @Override
            public void save(Path dir) {
                m.save(dir);
            }

            @Override
            public void gradientCheckpointing(boolean on) {
                m.base().gradientCheckpointing(on);
            }

            @Override
            public void seedDropout(long seed) {
                m.base().seedDropout(seed);
            }

            @Override
            public int vocabSize() {
                return m.base().vocabSize();
            }
        };
    }

    static TrainedModel of(PeftClassifier c) {
        return new TrainedModel() {
            @Override
            public Map<String, Tensor> trainableParameters() {
                return c.trainableParameters();
            }

            @Override
            public void train(boolean on) {
                c.train(on);
            }

            @Override
            public void save(Path dir) {
                c.save(dir);
            }

            @Override
            public void gradientCheckpointing(boolean on) {
                c.base().gradientCheckpointing(on);
            }

            @Override
            public void seedDropout(long seed) {
                c.seedDropout(seed);
            }

            @Override
            public int vocabSize() {
                return c.spec().vocabSize();
            }
        };
    }
}
