package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Step 4: LoRA SFT of the base model on the training split, completion-only loss, validation loss every epoch,
 * early stopping on it, checkpoints at every evaluation; at the end the best checkpoint's adapter is the result.
 */
final class SftStage {
    /** LoRA on every projection of attention and MLP. */
    static final String[] TARGETS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    private static final int MICRO_BATCH = 8;

    private SftStage() {
    }

    /** The fine-tuned model (the base with the best adapter) and what training did. */
    record Result(PeftModel model, TrainResult training, LoraConfig lora) {
    }

    static Result run(Path baseDir, LoadOptions load, Precision precision, List<QaExample> train,
                      List<QaExample> validation, QuickstartSettings s, Path runDir) {
        Tokenizer tok = new ByteLevelTokenizer();
        TokenizedDataset trainData = QaExample.dataset(train, tok);
        LoraConfig lora = lora(s);
        TrainingConfig cfg = trainingConfig(s, trainData.size(), runDir).toBuilder().precision(precision).build();
        try {
            // a rerun trains afresh: the trainer refuses a folder holding an earlier run's checkpoints
            AtomicDirectory.deleteTree(runDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the earlier quickstart's checkpoints in " + runDir, e);
        }
        PeftModel model = Peft.wrap(AutoModel.loadCausalLM(baseDir, load), lora, s.seed());
        TrainResult result = SftTrainer.builder().model(model).config(cfg).padTokenId(ByteLevelTokenizer.PAD)
                .trainData(trainData).evalData(QaExample.dataset(validation, tok))
                .listener(new ProgressLine("sft")).build().train();
        if (result.bestCheckpoint() != null && !result.bestCheckpoint().equals(result.lastCheckpoint())) {
            model.close();
            LanguageModel base = AutoModel.loadCausalLM(baseDir, load);
            model = Peft.loadTrainable(base, result.bestCheckpoint().resolve("adapter"));
        }
        return new Result(model, result, lora);
    }

    /** LoRA of rank {@code s.loraRank()} (alpha twice the rank) on {@link #TARGETS}. */
    static LoraConfig lora(QuickstartSettings s) {
        return LoraConfig.builder().r(s.loraRank()).loraAlpha(2.0 * s.loraRank()).loraDropout(0.05)
                .targetModules(TARGETS).build();
    }

    /** The SFT schedule for {@code examples} training examples: validation and a checkpoint every epoch. */
    static TrainingConfig trainingConfig(QuickstartSettings s, int examples, Path runDir) {
        int stepsPerEpoch = (examples + MICRO_BATCH - 1) / MICRO_BATCH;
        return TrainingConfig.builder().epochs(s.sftEpochs()).microBatchSize(MICRO_BATCH)
                .learningRate(s.sftLearningRate()).weightDecay(0.0).schedule(Schedule.COSINE).warmupRatio(0.05)
                .maxGradNorm(1.0).shuffle(true).seed(s.seed())
                .evalEverySteps(stepsPerEpoch).earlyStopping(s.patience(), 0.0)
                .saveEverySteps(stepsPerEpoch).keepLastCheckpoints(1).outputDir(runDir)
                .logEverySteps(0).build();
    }
}
