package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.peft.train.RewardFunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code finetune4j train} with {@code objective: grpo} and its built-in rewards, which need no code. */
class TrainGrpoCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void tinyModelAndPrompts() throws Exception {
        CliTestSupport.tinyModel(dir.resolve("model"));
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            rows.add("{\"prompt\": \"fee of card " + i + "?\", \"answer\": \"" + (i * 50) + " yuan.\"}");
        }
        Files.write(dir.resolve("prompts.jsonl"), rows);
    }

    private Path config(String grpo) throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                objective: grpo
                data: {train: prompts.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 2, micro_batch_size: 2, learning_rate: 1.0e-3, seed: 1}
                output: run
                """ + grpo);
        return file;
    }

    @Test
    void grpoTrainsWithEveryBuiltInReward() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("""
                grpo: {num_generations: 2, max_completion_length: 4, beta: 0.04, loss_type: dr_grpo,
                       rewards: [{type: json_valid}, {type: regex, pattern: "[0-9]", weight: 0.5},
                                 {type: length, target: 3}, {type: exact_match, name: answer}]}
                """).toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"LORA\""));
        assertTrue(r.out().contains("2 steps"), r.out());
    }

    /**
     * A reward model trained with task: reward on the same tiny model is a GRPO reward beside a built-in one; its
     * folders are checked before anything loads.
     */
    @Test
    void aRewardModelTrainedWithTaskRewardIsAGrpoReward() throws Exception {
        Files.write(dir.resolve("pairs.jsonl"), List.of("{\"prompt\": \"fee?\", \"chosen\": \"50 yuan.\", \"rejected\": \"no\"}",
                "{\"prompt\": \"card?\", \"chosen\": \"a debit card.\", \"rejected\": \"?\"}"));
        Path rm = dir.resolve("rm.yaml");
        Files.writeString(rm, """
                model: model
                tokenizer: byte-level
                task: reward
                data: {train: pairs.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 1, micro_batch_size: 2, learning_rate: 1.0e-3, seed: 1}
                output: rm
                """);
        assertBadInput(config("grpo: {rewards: [{type: reward_model}]}\n"), "'grpo.rewards[0].model' is missing");
        assertBadInput(config("grpo: {rewards: [{type: json_valid}, {type: reward_model, model: nowhere}]}\n"),
                "'grpo.rewards[1]' (reward_model): model folder " + dir.resolve("nowhere").toAbsolutePath() + " does not exist");
        assertBadInput(config("grpo: {rewards: [{type: reward_model, model: model, adapter: rm}]}\n"),
                "'grpo.rewards[0]' (reward_model): no adapter_config.json in " + dir.resolve("rm").toAbsolutePath());
        assertBadInput(config("grpo: {rewards: [{type: reward_model, model: model}]}\n"),
                "'grpo.rewards[0]' (reward_model): no tokenizer.json in " + dir.resolve("model").toAbsolutePath());
        CliTestSupport.Run trained = CliTestSupport.run("train", "-c", rm.toString());
        assertEquals(ExitCodes.OK, trained.exitCode(), trained.err());
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("""
                grpo: {num_generations: 2, max_completion_length: 4,
                       rewards: [{type: reward_model, model: model, adapter: rm/adapter, tokenizer: byte-level, weight: 2},
                                 {type: json_valid}]}
                """).toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("2 steps"), r.out());

    }

    @Test
    void numIterationsTrainsOnEachGenerationThatManySteps() throws Exception {
        Path file = config("grpo: {num_generations: 2, max_completion_length: 4, num_iterations: 2, "
                + "rewards: [{type: json_valid}]}\n");
        Files.writeString(file, Files.readString(file).replace("max_steps: 2", "epochs: 1"));
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", file.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("4 steps"), "4 prompts, 2 a step, 2 steps a generation: " + r.out());
    }

    @Test
    void grpoSettingsAndRowsAreBadInputNamingTheKey() throws Exception {
        assertBadInput(config("grpo: {rewards: [{type: fuzzy}]}\n"), "'grpo.rewards[0].type' is 'fuzzy'");
        assertBadInput(config("grpo: {rewards: [{type: regex, pattern: \"(\"}]}\n"),
                "'grpo.rewards[0].pattern' is not a regular expression");
        assertBadInput(config("grpo: {rewards: [{type: length}]}\n"), "'grpo.rewards[0].target' must be");
        assertBadInput(config("grpo: {num_generations: 1, rewards: [{type: json_valid}]}\n"),
                "invalid 'grpo' settings: GRPO grpo.num_generations must be at least 2");
        assertBadInput(config("grpo: {num_iterations: 0, rewards: [{type: json_valid}]}\n"),
                "invalid 'grpo' settings: GRPO grpo.num_iterations must be at least 1");
        assertBadInput(config("grpo: {loss_type: cispo, rewards: [{type: json_valid}]}\n"), "'grpo.loss_type' is 'cispo'");
        assertBadInput(config("grpo: {}\n"), "'grpo.rewards' is missing");
        Files.writeString(dir.resolve("prompts.jsonl"), "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n");
        assertBadInput(config("grpo: {rewards: [{type: exact_match}]}\n"), "the training rows have no 'answer' field");
        Files.writeString(dir.resolve("prompts.jsonl"), "{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"prompt\": \"b\"}\n");
        assertBadInput(config("grpo: {rewards: [{type: exact_match}]}\n"), "prompts.jsonl line 2: has no 'answer' field");
    }

    @Test
    void aValidationFileOfPromptsIsSampledAndScoredEveryEvalEverySteps() throws Exception {
        Files.write(dir.resolve("validation.jsonl"), List.of("{\"prompt\": \"fee of card 9?\", \"answer\": \"450 yuan.\"}",
                "{\"prompt\": \"fee of card 8?\", \"answer\": \"400 yuan.\"}"));
        Path file = withValidation("grpo: {num_generations: 2, max_completion_length: 4,"
                + " rewards: [{type: exact_match}, {type: regex, pattern: \"[0-9]\"}]}\n");
        Files.writeString(file, Files.readString(file).replace("seed: 1", "seed: 1, save_every_steps: 1"));
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", file.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode state = new ObjectMapper().readTree(dir.resolve("run/checkpoints/checkpoint-2/trainer_state.json").toFile());
        JsonNode evals = state.get("evalHistory");
        assertEquals(2, evals.size(), state.toString());
        for (JsonNode eval : evals) {
            for (String metric : List.of("reward", "rewards/exact_match/mean", "rewards/regex/mean", "completions/mean_length")) {
                assertTrue(eval.get("extra").has(metric), metric + " in " + eval);
            }
        }
        assertTrue(state.get("bestEvalScore").isNumber(), "the best by mean reward: " + state);
    }

    @Test
    void aValidationFileThatIsNotGrpoPromptsIsBadInput() throws Exception {
        String rewards = "grpo: {rewards: [{type: exact_match}]}\n";
        Files.writeString(dir.resolve("validation.jsonl"), "{\"prompt\": \"a\", \"chosen\": \"1\", \"rejected\": \"2\"}\n");
        assertBadInput(withValidation(rewards), "validation.jsonl line 1: has a 'chosen' field, so it is a preference or "
                + "KTO row");
        Files.writeString(dir.resolve("validation.jsonl"), "{\"prompt\": \"a\"}\n");
        assertBadInput(withValidation(rewards), "the training rows have an 'answer' field but the validation rows "
                + "(validation.jsonl) have none");
        Files.writeString(dir.resolve("validation.jsonl"), "{\"prompt\": \"fee of card 1?\", \"answer\": \"7 yuan.\"}\n");
        assertBadInput(withValidation(rewards), "validation.jsonl gives the prompt \"fee of card 1?\" another answer");
        Files.writeString(dir.resolve("validation.jsonl"), "{\"prompt\": \"a\", \"answer\": \"1\"}\n");
        Path never = withValidation(rewards);
        Files.writeString(never, Files.readString(never).replace(", eval_every_steps: 1", ""));
        assertBadInput(never, "'data.validation' is given but 'training.eval_every_steps' is not");
    }

    /** The config of {@link #config} with validation.jsonl as the validation file, evaluated every step. */
    private Path withValidation(String grpo) throws Exception {
        Path file = config(grpo);
        Files.writeString(file, Files.readString(file).replace("train: prompts.jsonl",
                "train: prompts.jsonl, validation: validation.jsonl").replace("seed: 1", "seed: 1, eval_every_steps: 1"));
        return file;
    }

    @Test
    void builtInRewardsScoreAsDocumented() {
        List<RewardFunction> r = GrpoRewards.load(List.of(
                new TrainConfig.GrpoReward("regex", null, "^\\{", null, null, null, null, null),
                new TrainConfig.GrpoReward("json_valid", null, null, null, null, null, null, null),
                new TrainConfig.GrpoReward("length", null, null, 4, null, null, null, null),
                new TrainConfig.GrpoReward("exact_match", null, null, null, null, null, null, null),
                new TrainConfig.GrpoReward("regex", null, "x", null, null, null, null, null)), Map.of("q", "42"), null, null)
                .functions();
        assertEquals(List.of("regex", "json_valid", "length", "exact_match", "regex_2"),
                r.stream().map(RewardFunction::name).toList());
        assertEquals(1.0, r.get(0).score("q", "{\"a\": 1}"));
        assertEquals(0.0, r.get(0).score("q", " {"));
        assertEquals(1.0, r.get(1).score("q", " {\"a\": [1, 2]}\n"));
        assertEquals(0.0, r.get(1).score("q", "{\"a\": 1} and more"), "trailing text is not one JSON value");
        assertEquals(0.0, r.get(1).score("q", ""));
        assertEquals(0.0, r.get(2).score("q", "abcd"));
        assertEquals(-0.5, r.get(2).score("q", "abcdef"));
        assertEquals(-0.5, r.get(2).score("q", "ab"));
        assertEquals(1.0, r.get(3).score("q", " 42\n"));
        assertEquals(0.0, r.get(3).score("q", "43"));
    }

    /** A pattern that backtracks exponentially stops at the read budget, naming itself, instead of hanging the run. */
    @Test
    void anExponentialPatternStopsAtItsBudget() {
        // NOTE: Java's engine memoises the textbook (a|aa)+ and (a+)+ cases; nested .* repetitions still explode
        RewardFunction r = GrpoRewards.load(List.of(new TrainConfig.GrpoReward("regex", null, "^(.*a){12}$", null, null, null,
                null, null)), Map.of(), null, null).functions().getFirst();
        String adversarial = "a".repeat(40) + "b";
        var e = assertThrows(IllegalStateException.class, () -> r.score("q", adversarial));
        assertTrue(e.getMessage().contains("the regex ^(.*a){12}$ read the completion's characters more than"), e.getMessage());
        assertEquals(1.0, r.score("q", "a".repeat(12)), "a completion it matches still scores");
    }

    private static void assertBadInput(Path config, String message) {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.out() + r.err());
        assertTrue(r.err().contains(message), r.err());
    }
}
