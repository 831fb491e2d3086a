package dev.finetune4j.peft.train;

import java.nio.file.Path;
import java.util.List;

/**
 * Supervised fine-tuning of an adapter with Hugging Face's causal-LM loss (labels shifted by one, -100
 * ignored, mean over the label tokens of each optimizer step).
 *
 * <pre>{@code
 * PeftModel m = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "v_proj").build());
 * SftTrainer trainer = SftTrainer.builder().model(m).config(cfg)
 *     .trainData(TokenizedDataset.of(inputIds, labels)).evalData(validation).listener(progress).build();
 * TrainResult r = trainer.train();     // or trainer.resume(Checkpoints.latest(outputDir).orElseThrow())
 * m.save(Path.of("out"));              // PEFT format
 * }</pre>
 *
 * <p>Not thread-safe: one trainer trains one model on one thread.
 */
public final class SftTrainer {
    private final TrainingLoop loop;

    private SftTrainer(TrainingLoop loop) {
        this.loop = loop;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Trains from the adapter's current weights. */
    public TrainResult train() {
        return loop.run(null);
    }

    /**
     * Continues from a checkpoint folder written by an earlier run with the same settings and data: adapter
     * weights, optimizer moments and the data position are restored, and the run ends exactly as an
     * uninterrupted one would (bit for bit).
     */
    public TrainResult resume(Path checkpointDir) {
        return loop.run(checkpointDir);
    }

    /** Builder for {@link SftTrainer}. */
    public static final class Builder extends TrainerBuilder<Builder> {
        private TokenizedDataset trainData;
        private TokenizedDataset evalData;

        private Builder() {
        }

        /** Training examples: token ids with labels (-100 on prompt tokens for completion-only loss). */
        public Builder trainData(TokenizedDataset value) {
            trainData = value;
            return this;
        }

        /** Validation examples, for evaluation every {@code evalEverySteps} steps. */
        public Builder evalData(TokenizedDataset value) {
            evalData = value;
            return this;
        }

        public SftTrainer build() {
            List<TrainingListener> listeners = checkedListeners();
            if (trainData == null) {
                throw new IllegalStateException("trainData(...) is required: TokenizedDataset.of(inputIds, labels)");
            }
            checkEvaluation(evalData != null);
            Objective eval = evalData == null ? null : new SftObjective(model, evalData, padTokenId);
            return new SftTrainer(new TrainingLoop(model, config, new SftObjective(model, trainData, padTokenId), eval, listeners));
        }
    }
}
