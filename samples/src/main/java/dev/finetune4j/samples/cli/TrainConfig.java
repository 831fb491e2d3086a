package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The {@code train} command's config file (YAML or JSON, snake_case keys; paths relative to the file).
 *
 * <pre>
 * model: models/Qwen2.5-0.5B-Instruct    # local Hugging Face folder
 * tokenizer: null                        # default: the model folder's tokenizer.json; or byte-level
 * task: generation                       # generation | classification | reward
 * labels: [billing, refund, other]       # classification: the classes (default: the model's id2label)
 * problem_type: null                     # classification: multi_label_classification for rows with a list of
 *                                        # labels each (default: config.json's, else single-label)
 * objective: sft                         # sft | dpo | orpo | simpo | kto | grpo (generation)
 * method: lora                           # lora | dora | qlora | ia3 | prefix | prompt | adapter | freeze
 * peft: {r: 16, lora_alpha: 32, lora_dropout: 0.05, target_modules: [q_proj, v_proj]}
 * data:
 *   train: prepared/train.jsonl          # sft: prompt_field/response_field, or (neither set) conversation rows:
 *                                        # OpenAI messages (+ tools) or ShareGPT conversations (+ function_call,
 *                                        # observation, tools); dpo, orpo, simpo: prompt/chosen/rejected;
 *                                        # kto: prompt/completion/label (label true or false);
 *                                        # grpo: prompt (+ answer for an exact_match reward);
 *                                        # classification: {"text": ..., "label": ...}
 *                                        # (multi-label: {"text": ..., "labels": [...]}; a sentence
 *                                        # pair: + "text_pair": ...)
 *   validation: prepared/validation.jsonl
 *   prompt_field: instruction
 *   response_field: output
 *   prompt_template: chat                # chat | any text with {prompt}
 *   max_length: 512
 *   text_field: text                     # classification: the text's field, and the second text's
 *   text_pair_field: text_pair           # (sentence pairs; e.g. sentence1 / sentence2)
 * training: {epochs: 3, micro_batch_size: 4, learning_rate: 2.0e-4, eval_every_steps: 50,
 *            save_every_steps: 50, keep_last_checkpoints: 3,   # default 0: every checkpoint is kept
 *            precision: auto, gradient_checkpointing: false}   # precision: f32 | bf16-mixed | auto
 * dpo: {beta: 0.1, loss: sigmoid, label_smoothing: 0.0}
 * orpo: {beta: 0.1}                      # objective: orpo (beta is ORPO's lambda)
 * simpo: {beta: 0.1, simpo_gamma: 0.5, cpo_alpha: 1.0, label_smoothing: 0.0}   # objective: simpo
 * kto: {beta: 0.1, desirable_weight: 1.0, undesirable_weight: 1.0}
 * grpo: {num_generations: 8, max_completion_length: 256, beta: 0.0, loss_type: dapo, num_iterations: 1,
 *        rewards: [{type: json_valid}, {type: regex, pattern: "^\\{", weight: 0.5}]}   # objective: grpo
 * reward: {center_rewards_coefficient: 0.01}   # task: reward (rows as dpo)
 * output: runs/qa
 * </pre>
 */
record TrainConfig(String model, String tokenizer, String task, List<String> labels, String problemType, String objective,
                   String method, ObjectNode peft, Data data, Training training, Dpo dpo, Orpo orpo, Simpo simpo, Kto kto,
                   Grpo grpo, Reward reward, String output) {

    /** Training data: JSONL files and how to read and lay them out. */
    record Data(String train, String validation, String promptField, String responseField, String promptTemplate,
                Integer maxLength, String textField, String textPairField) {
    }

    /** Trainer settings; each maps to the {@code TrainingConfig} builder method of the same name. */
    record Training(Integer epochs, Integer maxSteps, Integer microBatchSize, Integer gradientAccumulationSteps,
                    Double learningRate, Double weightDecay, String schedule, Double warmupRatio, Double maxGradNorm,
                    Long seed, Integer evalEverySteps, Integer earlyStoppingPatience, Integer saveEverySteps,
                    Integer keepLastCheckpoints, Integer logEverySteps, String precision, Boolean gradientCheckpointing) {
    }

    /** DPO settings: beta, loss {@code sigmoid} or {@code ipo}, label smoothing. */
    record Dpo(Double beta, String loss, Double labelSmoothing) {
    }

    /** ORPO settings: beta (λ, the weight of the odds-ratio term); default TRL's. */
    record Orpo(Double beta) {
    }

    /** SimPO settings under TRL's CPOConfig names; each missing one is TRL's default. */
    record Simpo(Double beta, Double simpoGamma, Double cpoAlpha, Double labelSmoothing) {
    }

    /** KTO settings under TRL's names: beta, desirable_weight, undesirable_weight. */
    record Kto(Double beta, Double desirableWeight, Double undesirableWeight) {
    }

    /**
     * GRPO settings under TRL's GRPOConfig names (each missing one is TRL's default) and the built-in reward functions,
     * summed with their weights.
     */
    record Grpo(Integer numGenerations, Integer maxCompletionLength, Double temperature, Double topP, Integer topK,
                Double beta, Double epsilon, Double epsilonHigh, String lossType, String scaleRewards,
                Boolean maskTruncatedCompletions, Integer numIterations, List<GrpoReward> rewards) {
    }

    /**
     * One GRPO reward: {@code type} regex (1 when {@code pattern} is found in the completion), json_valid (1 when the
     * completion is one JSON value), length (minus the distance to {@code target} characters, over the target),
     * exact_match (1 when the completion, trimmed, equals the row's {@code answer}) or reward_model (the logit of the
     * one-label classifier in the {@code model} folder, with the {@code adapter} folder's reward adapter when given,
     * tokenized by {@code tokenizer}, default the model folder's; paths relative to the config file);
     * {@code weight} default 1; {@code name} default the type.
     */
    record GrpoReward(String type, String name, String pattern, Integer target, Double weight, String model,
                      String adapter, String tokenizer) {
    }

    /** Reward-model settings under TRL's RewardConfig name: center_rewards_coefficient. */
    record Reward(Double centerRewardsCoefficient) {
    }
}
