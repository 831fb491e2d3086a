package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.PeftModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * GRPO (Shao et al. 2024, DeepSeekMath; TRL's {@code GRPOTrainer}) of an adapter: reinforcement fine-tuning with
 * reward functions written in Java. Each step samples {@code numGenerations} completions of each of its prompts from
 * the policy, scores them ({@link RewardFunction}), and raises the likelihood of the completions that score above
 * their group's mean ({@link GrpoAdvantages}, {@link GrpoLoss}). A step reads {@code microBatchSize} prompts per
 * micro-batch (so {@code microBatchSize x numGenerations} completions) and {@code gradientAccumulationSteps}
 * micro-batches: the step is TRL's generation batch. With {@link GrpoConfig#numIterations} μ > 1 a generation serves μ
 * consecutive steps on the same completions, and an epoch over the prompts takes μ times as many steps.
 *
 * <pre>{@code
 * RewardFunction json = RewardFunction.named("valid_json", (prompt, completion) -> isJson(completion) ? 1 : 0);
 * GrpoTrainer grpo = GrpoTrainer.builder().model(peftModel).tokenizer(tokenizer).config(cfg)
 *     .grpo(GrpoConfig.builder().numGenerations(8).maxCompletionLength(128).build())
 *     .reward(json).trainData(GrpoDataset.fromTexts(prompts, tokenizer)).build();
 * TrainResult r = grpo.train();  // StepMetrics.extra(): reward, reward_std, rewards/valid_json/mean, kl (beta > 0),
 *                                //   frac_reward_zero_std, completions/mean_length, completions/clipped_ratio, ...
 * }</pre>
 *
 * <p>Sampling is reproducible: a step's completions follow from the adapter's weights, {@code TrainingConfig.seed}
 * and the step number, so a run resumed from a checkpoint samples exactly what the uninterrupted run did. Training
 * forwards run in training mode (dropout on, TRL's {@code disable_dropout=False}); sampling and the reference pass
 * (β > 0: the base model without the adapter) in eval mode.
 *
 * <p>Evaluation ({@code evalData(prompts)} and {@code TrainingConfig.evalEverySteps}) scores held-out prompts as TRL's
 * {@code GRPOTrainer.evaluate} does: the current policy samples {@code numGenerations} completions of each validation
 * prompt with the training temperature, top-p and top-k (no dropout), the same reward functions score them, and the
 * evaluation reports the GRPO loss of those completions ({@link EvalMetrics#loss()}, TRL's {@code eval_loss}) and in
 * {@link EvalMetrics#extra()} what a generating step reports ({@code reward}, {@code reward_std},
 * {@code rewards/<name>/mean|std}, {@code frac_reward_zero_std}, {@code completions/...}, {@code kl} with β > 0, the
 * clip ratios), which TRL logs with the {@code eval_} prefix. The validation prompts form one generation batch (their
 * advantages and token weights span all of them, whatever the micro-batches or ranks). Each evaluation draws the same
 * random numbers, from a stream apart from training's (training runs bit for bit as without evaluation), so a resumed
 * run evaluates as the uninterrupted one and two evaluations differ by the policy only. The best evaluation
 * ({@link TrainResult#bestCheckpoint()}, early stopping) is the one with the highest mean {@code reward}, not the
 * lowest loss: with advantages centred in each group the loss stays near 0 whatever the policy does. An improvement
 * must exceed {@code earlyStoppingThreshold}.
 */
public final class GrpoTrainer extends Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(GrpoTrainer.class);

    private GrpoTrainer(TrainingLoop loop) {
        super(loop);
    }

    /**
     * A builder without model, configuration, data, tokenizer or reward; TRL's GRPO defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link GrpoTrainer}: training data are {@link GrpoDataset}s of prompts. */
    public static final class Builder extends TrainerBuilder<Builder, GrpoDataset, PeftModel> {
        private GrpoConfig grpo = GrpoConfig.builder().build();
        private final List<RewardFunction> rewards = new ArrayList<>();
        private Tokenizer tokenizer;
        private Set<Long> stopTokens;

        private Builder() {
            super("GrpoDataset.fromTexts(prompts, tokenizer)", TrainedModel::of);
        }

        /**
         * The GRPO settings (default: TRL's, {@code GrpoConfig.builder().build()}).
         *
         * @param value the settings
         * @return this builder
         */
        public Builder grpo(GrpoConfig value) {
            if (value == null) {
                throw new IllegalArgumentException("grpo(...) must not be null: GrpoConfig.builder().build() gives TRL's defaults");
            }
            grpo = value;
            return this;
        }

        /**
         * Adds a reward function (at least one is required); several are summed with
         * {@link GrpoConfig#rewardWeights()}, in the order they were added.
         *
         * @param value the function; give it a name with {@link RewardFunction#named} for its metrics
         * @return this builder
         */
        public Builder reward(RewardFunction value) {
            if (value == null) {
                throw new IllegalArgumentException("reward(...) must not be null");
            }
            rewards.add(value);
            return this;
        }

        /**
         * The model's tokenizer (required): completions are decoded with it for the reward functions, and its EOS ends
         * a completion unless {@link #stopTokens} are given.
         *
         * @param value the tokenizer
         * @return this builder
         */
        public Builder tokenizer(Tokenizer value) {
            tokenizer = value;
            return this;
        }

        /**
         * Token ids that end a completion (default: the tokenizer's EOS). A completion that reaches
         * {@code maxCompletionLength} without one is truncated ({@code completions/clipped_ratio}).
         *
         * @param value the ids
         * @return this builder
         */
        public Builder stopTokens(Set<Long> value) {
            if (value == null) {
                throw new IllegalArgumentException("stopTokens(...) must not be null: Set.of() for none");
            }
            stopTokens = Set.copyOf(value);
            return this;
        }

        /**
         * Builds the trainer; missing or inconsistent settings are reported here.
         *
         * @return the trainer
         */
        public GrpoTrainer build() {
            if (tokenizer == null) {
                throw new IllegalStateException("tokenizer(...) is required: GRPO decodes the completions for the reward "
                        + "functions with the model's tokenizer");
            }
            if (rewards.isEmpty()) {
                throw new IllegalStateException("GRPO needs at least one reward(...): RewardFunction.named(\"name\", "
                        + "(prompt, completion) -> score)");
            }
            if (!grpo.rewardWeights().isEmpty() && grpo.rewardWeights().size() != rewards.size()) {
                throw new IllegalArgumentException("GrpoConfig has " + grpo.rewardWeights().size() + " rewardWeights but "
                        + rewards.size() + " reward functions were added: give one weight per function, in order, or none");
            }
            Set<String> names = new HashSet<>();
            for (RewardFunction r : rewards) {
                if (!names.add(r.name())) {
                    throw new IllegalArgumentException("two reward functions are named '" + r.name() + "', so their "
                            + "metrics (rewards/<name>/mean) would mix: name each with RewardFunction.named");
                }
            }
            Set<Long> stops = stopTokens;
            if (stops == null) {
                stops = tokenizer.eosTokenId().isPresent() ? Set.of(tokenizer.eosTokenId().getAsLong()) : Set.of();
                if (stops.isEmpty()) {
                    LOG.warn("GRPO: the tokenizer has no EOS and no stopTokens were given: every completion runs to "
                            + "maxCompletionLength");
                }
            }
            Set<Long> stopIds = stops;
            List<RewardFunction> functions = List.copyOf(rewards);
            return new GrpoTrainer(loop(data -> new GrpoObjective(model, data, grpo, functions,
                    new GrpoSampler(model, data, grpo, functions, tokenizer, stopIds, config.seed()), padTokenId)));
        }
    }
}
