package dev.finetune4j.peft.train;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.LongBinaryOperator;

/**
 * GRPO's rollouts: samples each prompt's group of completions from the policy and scores them with the reward
 * functions. Sampling runs in eval mode (no dropout) without autograd, as one batch per call; completion g of prompt i
 * at step s draws from its own stream, seeded with {@code Seeds.derive(seed, SAMPLING, s, i, g)}, so a step's
 * completions depend only on the weights, the seed and the step (a resumed run samples what an uninterrupted one
 * would, and the micro-batch layout does not matter). A validation prompt's completions draw from
 * {@code Seeds.derive(seed, EVAL_SAMPLING, i, g)}, apart from training's streams and the same at every evaluation.
 */
final class GrpoSampler {
    /** How much of a completion an error message quotes. */
    private static final int QUOTED_CHARS = 200;

    private final PeftModel model;
    private final GrpoDataset data;
    private final GrpoConfig cfg;
    private final List<RewardFunction> rewards;
    private final Tokenizer tokenizer;
    private final Set<Long> stopTokens;
    private final long seed;
    private final GenerationConfig generation;

    GrpoSampler(PeftModel model, GrpoDataset data, GrpoConfig cfg, List<RewardFunction> rewards, Tokenizer tokenizer,
                Set<Long> stopTokens, long seed) {
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.rewards = rewards;
        this.tokenizer = tokenizer;
        this.stopTokens = stopTokens;
        this.seed = seed;
        this.generation = GenerationConfig.builder().maxNewTokens(cfg.maxCompletionLength())
                .temperature((float) cfg.temperature()).topP((float) cfg.topP()).topK(cfg.topK())
                .stopTokens(stopTokens).build();
    }

    /**
     * The completions of {@code prompts} (data set indices) at {@code step}: {@code numGenerations} per prompt, prompt
     * after prompt, each ending after its first stop token or at {@code maxCompletionLength} tokens.
     */
    long[][] sample(int step, int[] prompts) {
        return sample(prompts, (prompt, k) -> Seeds.derive(seed, Seeds.SAMPLING, step, prompt, k));
    }

    /**
     * The completions of validation prompts {@code prompts}, as {@link #sample(int, int[])} but from the evaluation's
     * streams: NOTE: they do not depend on the step, so every evaluation draws the same random numbers and a change of
     * the mean reward between two evaluations is the policy's, not the sampling's (common random numbers).
     */
    long[][] sampleForEvaluation(int[] prompts) {
        return sample(prompts, (prompt, k) -> Seeds.derive(seed, Seeds.EVAL_SAMPLING, prompt, k));
    }

    /** The completions of {@code prompts}, completion k of a prompt seeded with {@code seedOf(prompt, k)}. */
    private long[][] sample(int[] prompts, LongBinaryOperator seedOf) {
        int g = cfg.numGenerations();
        long[][] inputs = new long[prompts.length * g][];
        long[] seeds = new long[inputs.length];
        for (int p = 0; p < prompts.length; p++) {
            for (int k = 0; k < g; k++) {
                inputs[p * g + k] = data.get(prompts[p]).prompt();
                seeds[p * g + k] = seedOf.applyAsLong(prompts[p], k);
            }
        }
        boolean training = model.base().isTraining();
        model.train(false);
        long[][] out;
        try {
            out = Generator.generate(model, inputs, generation, seeds);
        } finally {
            model.train(training);
        }
        long[][] completions = new long[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            completions[i] = Arrays.copyOfRange(out[i], inputs[i].length, out[i].length);
        }
        return completions;
    }

    /**
     * {@code completion} up to and including its first stop token (TRL masks what follows the first EOS), or the whole
     * of it when it has none.
     */
    long[] endAtStop(long[] completion) {
        for (int i = 0; i < completion.length; i++) {
            if (stopTokens.contains(completion[i])) {
                return Arrays.copyOf(completion, i + 1);
            }
        }
        return completion;
    }

    /** Whether {@code completion} was cut by the length limit: it does not end with a stop token. */
    boolean truncated(long[] completion) {
        return completion.length == 0 || !stopTokens.contains(completion[completion.length - 1]);
    }

    /**
     * Each reward function's score of each completion: [function][completion]. {@code completions} are
     * {@code numGenerations} per prompt of {@code prompts}, in order; each is decoded without special tokens and the
     * whole micro-batch goes to each function's {@link RewardFunction#scoreAll} at once.
     *
     * @throws IllegalStateException naming the function, the prompt's row and the completion (the rows, when a batch
     *                               failed as a whole), when a function throws or returns NaN or an infinity
     */
    double[][] score(int[] prompts, long[][] completions) {
        List<GrpoExample> examples = new ArrayList<>(completions.length);
        List<String> texts = new ArrayList<>(completions.length);
        for (int c = 0; c < completions.length; c++) {
            examples.add(data.get(prompts[c / cfg.numGenerations()]));
            texts.add(tokenizer.decode(completions[c]));
        }
        double[][] scores = new double[rewards.size()][];
        for (int f = 0; f < rewards.size(); f++) {
            RewardFunction reward = rewards.get(f);
            try {
                scores[f] = reward.scoreAll(examples, texts);
            } catch (CompletionScoreException e) {
                int c = e.completion();
                throw new IllegalStateException(failure(reward, f, prompts, c, texts.get(c), "threw " + e.getCause()), e.getCause());
            } catch (RuntimeException e) {
                throw new IllegalStateException("reward function '" + reward.name() + "' (number " + f + ") threw " + e
                        + " on the completions of prompt rows " + Arrays.toString(prompts), e);
            }
            if (scores[f] == null || scores[f].length != completions.length) {
                throw new IllegalStateException("reward function '" + reward.name() + "' (number " + f + ") returned "
                        + (scores[f] == null ? "null" : scores[f].length + " scores") + " for " + completions.length
                        + " completions: scoreAll must give one score per completion, in order");
            }
            for (int c = 0; c < completions.length; c++) {
                if (!Double.isFinite(scores[f][c])) {
                    throw new IllegalStateException(failure(reward, f, prompts, c, texts.get(c), "returned " + scores[f][c]
                            + "; a reward must be a finite number (give 0, or a penalty, to a completion it cannot score)"));
                }
            }
        }
        return scores;
    }

    private String failure(RewardFunction reward, int f, int[] prompts, int c, String completion, String what) {
        String quoted = completion.length() <= QUOTED_CHARS ? completion : completion.substring(0, QUOTED_CHARS) + "...";
        return "reward function '" + reward.name() + "' (number " + f + ") " + what + " on completion "
                + (c % cfg.numGenerations()) + " of prompt row " + prompts[c / cfg.numGenerations()] + ": \"" + quoted + "\"";
    }
}
