package dev.finetune4j.samples.cli;

import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.train.GrpoConfig;
import dev.finetune4j.peft.train.GrpoLossType;
import dev.finetune4j.peft.train.GrpoTrainer;
import dev.finetune4j.peft.train.RewardFunction;
import dev.finetune4j.peft.train.TrainingConfig;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The {@code grpo} section of {@code objective: grpo} and the trainer it describes, with built-in rewards. */
final class GrpoSettings {
    private GrpoSettings() {
    }

    /**
     * The section (TRL's defaults for what is left out), checked before the model loads; rewards checked too, reward
     * models' folders resolved against {@code base}, the config file's folder.
     */
    static GrpoConfig config(TrainConfig.Grpo section, Path base) {
        TrainConfig.Grpo g = section == null
                ? new TrainConfig.Grpo(null, null, null, null, null, null, null, null, null, null, null, null, null) : section;
        // types, patterns, targets and reward model folders, before the model loads (checking loads no reward model)
        GrpoRewards.load(g.rewards(), null, base, null);
        return ConfigFiles.section("grpo", TrainConfig.Grpo.class, () -> {
            GrpoConfig.Builder b = GrpoConfig.builder().rewardWeights(GrpoRewards.weights(g.rewards()));
            if (g.numGenerations() != null) b.numGenerations(g.numGenerations());
            if (g.maxCompletionLength() != null) b.maxCompletionLength(g.maxCompletionLength());
            if (g.temperature() != null) b.temperature(g.temperature());
            if (g.topP() != null) b.topP(g.topP());
            if (g.topK() != null) b.topK(g.topK());
            if (g.beta() != null) b.beta(g.beta());
            if (g.epsilon() != null) b.epsilon(g.epsilon());
            if (g.epsilonHigh() != null) b.epsilonHigh(g.epsilonHigh());
            if (g.lossType() != null) b.lossType(PreparePipeline.enumValue(GrpoLossType.class, g.lossType(), "grpo.loss_type"));
            if (g.scaleRewards() != null) {
                b.scaleRewards(PreparePipeline.enumValue(GrpoConfig.ScaleRewards.class, g.scaleRewards(), "grpo.scale_rewards"));
            }
            if (g.maskTruncatedCompletions() != null) b.maskTruncatedCompletions(g.maskTruncatedCompletions());
            if (g.numIterations() != null) b.numIterations(g.numIterations());
            return b.build();
        });
    }

    /**
     * The trainer's builder over {@code rows} with {@code rewards} (from {@link GrpoRewards#load}, in order), evaluating
     * the {@code validation} prompts when not null.
     */
    static GrpoTrainer.Builder builder(PeftModel model, TrainingConfig cfg, GrpoConfig grpo, List<RewardFunction> rewards,
                                      Tokenizer tok, TrainData.GrpoRows rows, TrainData.GrpoRows validation, long pad) {
        GrpoTrainer.Builder b = GrpoTrainer.builder().model(model).config(cfg).grpo(grpo).tokenizer(tok).padTokenId(pad)
                .trainData(rows.prompts());
        if (validation != null) {
            b.evalData(validation.prompts());
        }
        rewards.forEach(b::reward);
        return b;
    }

    /**
     * Each prompt's answer (for exact_match) from the training rows and the validation rows (null when there are none,
     * else read from {@code validationFile}): both files have answers or neither, and a prompt in both has one answer.
     */
    static Map<String, String> answers(TrainData.GrpoRows rows, TrainData.GrpoRows validation, String validationFile) {
        if (validation == null) {
            return rows.answers();
        }
        if (rows.answers().isEmpty() != validation.answers().isEmpty()) {
            String validationRows = "the validation rows (" + validationFile + ")";
            throw new BadInputException((rows.answers().isEmpty()
                    ? validationRows + " have an 'answer' field but the training rows have none"
                    : "the training rows have an 'answer' field but " + validationRows + " have none")
                    + ": give the rows of both files an answer, or neither");
        }
        Map<String, String> all = new HashMap<>(rows.answers());
        validation.answers().forEach((prompt, answer) -> {
            String trained = all.putIfAbsent(prompt, answer);
            if (trained != null && !trained.equals(answer)) {
                throw new BadInputException(validationFile + " gives the prompt \"" + prompt + "\" another answer than "
                        + "the training rows; exact_match needs one answer per prompt");
            }
        });
        return all;
    }

    /** The trainer; a prompt longer than the model reads is bad input. */
    static GrpoTrainer build(GrpoTrainer.Builder builder) {
        try {
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }
}
