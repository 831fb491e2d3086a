package dev.finetune4j.samples.cli;

import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.io.SafetensorsFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void tinyModelAndData() throws Exception {
        CliTestSupport.tinyModel(dir.resolve("model"));
        List<String> dpo = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            dpo.add("{\"prompt\": \"fee of card " + i + "?\", \"chosen\": \"" + (i * 50) + " yuan.\", \"rejected\": \"no idea\"}");
        }
        List<String> kto = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            kto.add("{\"prompt\": \"fee of card " + i + "?\", \"completion\": \""
                    + (i % 2 == 0 ? (i * 50) + " yuan." : "no idea") + "\", \"label\": " + (i % 2 == 0) + "}");
        }
        Files.write(dir.resolve("train.jsonl"), sftRows());
        Files.write(dir.resolve("pairs.jsonl"), dpo);
        Files.write(dir.resolve("kto.jsonl"), kto);
    }

    /** Eight SFT rows: "fee of card i?" answered "(i * 50) yuan.". */
    static List<String> sftRows() {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            rows.add("{\"instruction\": \"fee of card " + i + "?\", \"output\": \"" + (i * 50) + " yuan.\"}");
        }
        return rows;
    }

    private Path config(String body) throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                data: {train: %s, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 2, micro_batch_size: 4, learning_rate: 1.0e-3, seed: 1}
                output: run
                """.formatted(body.matches("(?s).*(objective: (dpo|orpo|simpo)|task: reward).*") ? "pairs.jsonl"
                        : body.contains("objective: kto") ? "kto.jsonl" : "train.jsonl") + body);
        return file;
    }

    @Test
    void sftWithLoraWritesAPeftAdapter() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c",
                config("method: lora\npeft: {r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj]}\n").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.exists(dir.resolve("run/adapter/adapter_config.json")));
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"LORA\""));
        assertTrue(r.out().contains("2 steps"), r.out());
    }

    /** dora is LoRA with use_dora; the section is read by LoRA's adapter_config.json mapping, rank_pattern included. */
    @Test
    void doraShorthandAndAnyLoraFieldReachTheSavedConfig() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c",
                config("method: dora\npeft: {r: 4, target_modules: [q_proj, v_proj], rank_pattern: {v_proj: 2}}\n").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        String saved = Files.readString(dir.resolve("run/adapter/adapter_config.json"));
        assertTrue(saved.contains("\"use_dora\" : true") && saved.contains("\"v_proj\" : 2") && saved.contains("\"lora_alpha\" : 16"), saved);
    }

    @Test
    void dpoWithIa3Trains() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("objective: dpo\nmethod: ia3\n").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"IA3\""));
    }

    /** ORPO and SimPO read the DPO rows (SFT's fields are absent there); each trains its steps and saves the adapter. */
    @Test
    void orpoAndSimpoTrainOnPreferenceRows() throws Exception {
        CliTestSupport.Run orpo = CliTestSupport.run("train", "-c",
                config("objective: orpo\norpo: {beta: 0.2}\nmethod: lora\npeft: {r: 4, target_modules: [q_proj, v_proj]}\n").toString());
        assertEquals(ExitCodes.OK, orpo.exitCode(), orpo.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"LORA\""));
        assertTrue(orpo.out().contains("2 steps (0 skipped)"), orpo.out());
        CliTestSupport.Run simpo = CliTestSupport.run("train", "--overwrite", "-c",
                config("objective: simpo\nsimpo: {beta: 2.0, simpo_gamma: 1.0, cpo_alpha: 0}\nmethod: ia3\n").toString());
        assertEquals(ExitCodes.OK, simpo.exitCode(), simpo.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"IA3\""));
        assertTrue(simpo.out().contains("2 steps (0 skipped)"), simpo.out());
    }

    @Test
    void orpoAndSimpoSettingsAreCheckedBeforeTheModelLoads() throws Exception {
        CliTestSupport.Run gamma = CliTestSupport.run("train", "-c",
                config("objective: simpo\nsimpo: {simpo_gamma: -1}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, gamma.exitCode(), gamma.err());
        assertTrue(gamma.err().contains("invalid 'simpo' settings: SimPO simpo.simpo_gamma must be a finite number >= 0.0, "
                + "got -1.0"), gamma.err());
        assertFalse(gamma.out().contains("trainable"), "the model was loaded: " + gamma.out());
        CliTestSupport.Run beta = CliTestSupport.run("train", "-c", config("objective: orpo\norpo: {beta: 0}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, beta.exitCode(), beta.err());
        assertTrue(beta.err().contains("invalid 'orpo' settings: ORPO beta must be a finite number > 0.0, got 0.0"), beta.err());
        CliTestSupport.Run unknown = CliTestSupport.run("train", "-c", config("objective: kpo\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, unknown.exitCode(), unknown.err());
        assertTrue(unknown.err().contains("use sft, dpo, orpo, simpo, kto or grpo"), unknown.err());
    }

    @Test
    void ktoWithLoraTrainsOnUnpairedRows() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c",
                config("objective: kto\nmethod: lora\nkto: {beta: 0.2, undesirable_weight: 1.5}\n").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"LORA\""));
        assertTrue(r.out().contains("2 steps"), r.out());
    }

    /** A reward model: the causal LM gets a one-label score head, trained with LoRA on the DPO rows, saved as SEQ_CLS. */
    @Test
    void rewardModelTrainsOnPairRowsAndSavesTheScoreHead() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("task: reward\nreward: {center_rewards_coefficient: 0.01}\n"
                + "method: lora\npeft: {r: 4, target_modules: [q_proj, v_proj]}\n").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("2 steps (0 skipped)"), r.out());
        String adapterConfig = Files.readString(dir.resolve("run/adapter/adapter_config.json"));
        assertTrue(adapterConfig.contains("SEQ_CLS") && adapterConfig.contains("\"score\""), adapterConfig);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("run/adapter/adapter_model.safetensors"))) {
            assertTrue(f.names().contains("base_model.model.score.weight"), f.names().toString());
        }
    }

    @Test
    void rewardSettingsAreCheckedBeforeTheModelLoads() throws Exception {
        CliTestSupport.Run coefficient = CliTestSupport.run("train", "-c",
                config("task: reward\nreward: {center_rewards_coefficient: -1}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, coefficient.exitCode(), coefficient.err());
        assertTrue(coefficient.err().contains("invalid 'reward' settings: center_rewards_coefficient must be a finite "
                + "number >= 0"), coefficient.err());
        assertFalse(coefficient.out().contains("trainable"), "the model was loaded: " + coefficient.out());
        CliTestSupport.Run objective = CliTestSupport.run("train", "-c", config("task: reward\nobjective: dpo\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, objective.exitCode(), objective.err());
        assertTrue(objective.err().contains("task: reward trains with its own loss; remove 'objective'"), objective.err());
    }

    @Test
    void ktoSettingsAndRowsOutOfRangeAreBadInputNamingTheKey() throws Exception {
        CliTestSupport.Run weight = CliTestSupport.run("train", "-c",
                config("objective: kto\nkto: {desirable_weight: 0}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, weight.exitCode(), weight.err());
        assertTrue(weight.err().contains("invalid 'kto' settings: kto.desirable_weight must be a finite number > 0, got 0.0"),
                weight.err());
        assertFalse(weight.out().contains("trainable"), "the model was loaded: " + weight.out());
        Path oneRowBatches = config("objective: kto\n");
        Files.writeString(oneRowBatches, Files.readString(oneRowBatches).replace("micro_batch_size: 4", "micro_batch_size: 1"));
        CliTestSupport.Run batch = CliTestSupport.run("train", "-c", oneRowBatches.toString());
        assertEquals(ExitCodes.BAD_INPUT, batch.exitCode(), batch.err());
        assertTrue(batch.err().contains("KTO needs a micro-batch of at least 2 rows, got training.micro_batch_size 1"),
                batch.err());
        Files.writeString(dir.resolve("kto.jsonl"), "{\"prompt\": \"a\", \"completion\": \"b\", \"label\": \"yes\"}\n"
                + "{\"prompt\": \"c\", \"completion\": \"d\", \"label\": false}\n");
        CliTestSupport.Run label = CliTestSupport.run("train", "-c", config("objective: kto\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, label.exitCode(), label.err());
        assertTrue(label.err().contains("kto.jsonl line 1: field 'label' is missing or not true/false"), label.err());
    }

    @Test
    void promptTuningTrainsWithSftAndDpo() throws Exception {
        CliTestSupport.Run sft = CliTestSupport.run("train", "-c", config("method: prompt\npeft: {num_virtual_tokens: 4}\n").toString());
        assertEquals(ExitCodes.OK, sft.exitCode(), sft.err());
        CliTestSupport.Run dpo = CliTestSupport.run("train", "--overwrite", "-c",
                config("objective: dpo\nmethod: prompt\npeft: {num_virtual_tokens: 4}\n").toString());
        assertEquals(ExitCodes.OK, dpo.exitCode(), dpo.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"PROMPT_TUNING\""));
    }

    @Test
    void anExistingOutputNeedsOverwrite() throws Exception {
        Path cfg = config("method: lora\n");
        assertEquals(ExitCodes.OK, CliTestSupport.run("train", "-c", cfg.toString()).exitCode());
        CliTestSupport.Run again = CliTestSupport.run("train", "-c", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, again.exitCode());
        assertTrue(again.err().contains("--overwrite"), again.err());
        assertEquals(ExitCodes.OK, CliTestSupport.run("train", "--overwrite", "-c", cfg.toString()).exitCode());
    }

    /** train.yaml: LoRA SFT of the tiny model on train.jsonl into run/, with {@code training} as its training section. */
    private Path loraRun(String training) throws Exception {
        return loraRun(64, training);
    }

    private Path loraRun(int maxLength, String training) throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                method: lora
                data: {train: train.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: %d}
                training: %s
                output: run
                """.formatted(maxLength, training));
        return file;
    }

    /** A run killed after its checkpoint at step 2 (its later checkpoint and adapter gone) is continued by --resume. */
    @Test
    void aRunResumedFromItsCheckpointEndsAsTheUninterruptedRunDid() throws Exception {
        Path cfg = loraRun("{max_steps: 4, micro_batch_size: 4, learning_rate: 1.0e-2, seed: 1, save_every_steps: 2}");
        assertEquals(ExitCodes.OK, CliTestSupport.run("train", "-c", cfg.toString()).exitCode());
        byte[] uninterrupted = Files.readAllBytes(dir.resolve("run/adapter/adapter_model.safetensors"));

        CliTestSupport.Run again = CliTestSupport.run("train", "-c", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, again.exitCode());
        assertTrue(again.err().contains("checkpoint-4") && again.err().contains("--resume"), again.err());
        CliTestSupport.Run both = CliTestSupport.run("train", "--resume", "--overwrite", "-c", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, both.exitCode());

        AtomicDirectory.deleteTree(dir.resolve("run/adapter"));
        AtomicDirectory.deleteTree(dir.resolve("run/checkpoints/checkpoint-4"));
        CliTestSupport.Run resumed = CliTestSupport.run("train", "--resume", "-c", cfg.toString());
        assertEquals(ExitCodes.OK, resumed.exitCode(), resumed.err());
        assertTrue(resumed.out().contains("resuming from") && resumed.out().contains("checkpoint-2")
                && resumed.out().contains("4 steps"), resumed.out());
        assertArrayEquals(uninterrupted, Files.readAllBytes(dir.resolve("run/adapter/adapter_model.safetensors")));
    }

    /**
     * SIGTERM (what Ctrl-C and kill send) to a training JVM: the step under way ends and is saved off the checkpoint
     * schedule, and --resume from it ends with the adapter of a run never stopped.
     */
    @Test
    void aSignalledRunSavesItsStepAndResumesToTheUninterruptedAdapter() throws Exception {
        Path cfg = loraRun("{max_steps: 400, micro_batch_size: 4, learning_rate: 1.0e-3, seed: 1, save_every_steps: 1000}");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path stdout = dir.resolve("stdout.txt");
        Path stderr = dir.resolve("stderr.txt");
        Process process = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "--add-modules",
                "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Finetune4j.class.getName(), "train",
                "-c", cfg.toString()).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(stdout).contains("step    1/") && process.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            process.destroy();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the run did not stop");
        } finally {
            process.destroyForcibly();
        }
        String out = Files.readString(stdout);
        assertTrue(Files.readString(stderr).contains("stopping: the current step ends"), Files.readString(stderr));
        assertTrue(out.contains("stopped: INTERRUPTED") && out.contains("train --resume"), out);
        List<Path> saved;
        try (var files = Files.list(dir.resolve("run/checkpoints"))) {
            saved = files.filter(p -> p.getFileName().toString().startsWith("checkpoint-")).toList();
        }
        assertEquals(1, saved.size(), saved.toString());
        int step = Integer.parseInt(saved.getFirst().getFileName().toString().substring("checkpoint-".length()));
        assertTrue(step >= 1 && step < 400, "saved at step " + step);

        CliTestSupport.Run resumed = CliTestSupport.run("train", "--resume", "-c", cfg.toString());
        assertEquals(ExitCodes.OK, resumed.exitCode(), resumed.err());
        byte[] afterResume = Files.readAllBytes(dir.resolve("run/adapter/adapter_model.safetensors"));
        CliTestSupport.Run whole = CliTestSupport.run("train", "-c", cfg.toString(), "-o", dir.resolve("whole").toString());
        assertEquals(ExitCodes.OK, whole.exitCode(), whole.err());
        assertArrayEquals(Files.readAllBytes(dir.resolve("whole/adapter/adapter_model.safetensors")), afterResume);
    }

    @Test
    void resumeWithoutACheckpointIsBadInputBeforeTheModelLoads() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "--resume", "-c", config("method: lora\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("no complete checkpoint") && r.err().contains("save_every_steps"), r.err());
        assertFalse(r.out().contains("trainable"), "the model was loaded: " + r.out());
    }

    @Test
    void maxLengthBeyondTheModelIsBadInputAndCuttingIsReported() throws Exception {
        CliTestSupport.Run tooLong = CliTestSupport.run("train", "-c",
                withMaxLength(100_000).toString());
        assertEquals(ExitCodes.BAD_INPUT, tooLong.exitCode());
        assertTrue(tooLong.err().contains("max_position_embeddings"), tooLong.err());
        // "Q: fee of card 0?\nA: " is 21 tokens: 24 cuts every answer but keeps a part of each
        CliTestSupport.Run cut = CliTestSupport.run("train", "--overwrite", "-c", withMaxLength(24).toString());
        assertEquals(ExitCodes.OK, cut.exitCode(), cut.err());
        assertTrue(cut.err().contains("8 of 8 rows") && cut.err().contains("max_length = 24"), cut.err());
    }

    /** 200-word prompts with max_length 16: the cut leaves no answer token, so the run would learn nothing. */
    @Test
    void dataWhoseAnswersAreAllCutAwayIsBadInputBeforeTraining() throws Exception {
        writeRows("long.jsonl", 8, 0);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", withData("long.jsonl", 16).toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("all 8 rows of " + dir.resolve("long.jsonl")) && r.err().contains("max_length = 16")
                && r.err().contains("raise data.max_length or shorten the prompts"), r.err());
        assertFalse(r.out().contains("steps"), r.out());
        assertFalse(Files.exists(dir.resolve("run/adapter")));
    }

    @Test
    void examplesWhoseAnswersAreCutAwayAreCountedAndTheRestTrain() throws Exception {
        writeRows("mixed.jsonl", 3, 5);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", withData("mixed.jsonl", 64).toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.err().contains("3 of 8 rows of " + dir.resolve("mixed.jsonl") + " keep no answer token"), r.err());
        assertTrue(Files.exists(dir.resolve("run/adapter/adapter_config.json")));
    }

    /** {@code longRows} rows with a 200-word prompt, then {@code shortRows} short ones. */
    private void writeRows(String file, int longRows, int shortRows) throws Exception {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < longRows + shortRows; i++) {
            String prompt = i < longRows ? "word ".repeat(200).strip() : "fee of card " + i + "?";
            rows.add("{\"instruction\": \"" + prompt + "\", \"output\": \"" + (i * 50) + " yuan.\"}");
        }
        Files.write(dir.resolve(file), rows);
    }

    private Path withData(String train, int maxLength) throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                method: lora
                data: {train: %s, prompt_template: "Q: {prompt}\\nA: ", max_length: %d}
                training: {max_steps: 1, micro_batch_size: 4, learning_rate: 1.0e-3, seed: 1}
                output: run
                """.formatted(train, maxLength));
        return file;
    }

    @Test
    void anOutputThatIsAFileIsBadInputBeforeTheModelLoads() throws Exception {
        Files.writeString(dir.resolve("run"), "not a folder");
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("method: lora\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains(dir.resolve("run") + " is a file, not a folder"), r.err());
        assertFalse(r.out().contains("trainable"), "the model was loaded: " + r.out());
        assertEquals("not a folder", Files.readString(dir.resolve("run")));
    }

    /** A tokenizer.json with more tokens (300) than the model's 259 embeddings is another model's: refused before training. */
    @Test
    void aTokenizerOfAnotherModelIsBadInputNamingBothSizes() throws Exception {
        CliTestSupport.wordLevelTokenizer(dir.resolve("model/tokenizer.json"), 300);
        Path cfg = dir.resolve("train.yaml");
        Files.writeString(cfg, """
                model: model
                data: {train: train.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 1}
                output: run
                """);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("the tokenizer has 300 tokens, but the model in " + dir.resolve("model") + " has 259"),
                r.err());
        assertFalse(r.out().contains("trainable"), "training started: " + r.out());
    }

    @Test
    void dpoSettingsOutOfRangeAreBadInputNamingTheKeyBeforeTheModelLoads() throws Exception {
        CliTestSupport.Run beta = CliTestSupport.run("train", "-c", config("objective: dpo\ndpo: {beta: -1}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, beta.exitCode(), beta.err());
        assertTrue(beta.err().contains("invalid 'dpo' settings: beta must be a finite number > 0, got -1.0"), beta.err());
        assertFalse(beta.out().contains("trainable"), "the model was loaded: " + beta.out());
        CliTestSupport.Run smoothing = CliTestSupport.run("train", "-c",
                config("objective: dpo\ndpo: {label_smoothing: 7}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, smoothing.exitCode(), smoothing.err());
        assertTrue(smoothing.err().contains("invalid 'dpo' settings: dpo.label_smoothing must be in [0, 0.5), got 7.0"),
                smoothing.err());
        assertFalse(smoothing.out().contains("trainable"), "the model was loaded: " + smoothing.out());
    }

    @Test
    void theSavedAdapterIsTheOneTheSummaryNames() throws Exception {
        Files.copy(dir.resolve("train.jsonl"), dir.resolve("validation.jsonl"));
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                method: lora
                data: {train: train.jsonl, validation: validation.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 6, micro_batch_size: 8, learning_rate: 3.0, schedule: constant, seed: 1, eval_every_steps: 1, save_every_steps: 1}
                output: run
                """);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", file.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        // a constant learning rate of 3 overshoots: the best evaluation comes before the last step
        assertTrue(r.out().contains("adapter of the best evaluation (checkpoint-"), r.out());
        String best = r.out().replaceAll("(?s).*adapter of the best evaluation \\((checkpoint-\\d+).*", "$1");
        assertTrue(!best.equals("checkpoint-6"), r.out());
        assertArrayEquals(Files.readAllBytes(dir.resolve("run/checkpoints").resolve(best).resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(dir.resolve("run/adapter/adapter_model.safetensors")));
    }

    private Path withMaxLength(int maxLength) throws Exception {
        return loraRun(maxLength, "{max_steps: 1, micro_batch_size: 4, learning_rate: 1.0e-3, seed: 1}");
    }

    /** A validation file without eval_every_steps was read and never evaluated; eval_every_steps without one did nothing. */
    @Test
    void validationDataAndTheSettingsThatUseItAreGivenTogether() throws Exception {
        Files.copy(dir.resolve("train.jsonl"), dir.resolve("validation.jsonl"));
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                data: {train: train.jsonl, validation: validation.jsonl, prompt_template: "Q: {prompt}\\nA: "}
                training: {max_steps: 2}
                """);
        CliTestSupport.Run unused = CliTestSupport.run("train", "-c", file.toString());
        assertEquals(ExitCodes.BAD_INPUT, unused.exitCode(), unused.out());
        assertTrue(unused.err().contains("'data.validation' is given but 'training.eval_every_steps' is not"), unused.err());
        for (String key : List.of("eval_every_steps", "early_stopping_patience")) {
            CliTestSupport.Run r = CliTestSupport.run("train", "-c", loraRun("{max_steps: 2, " + key + ": 1}").toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.out());
            assertTrue(r.err().contains("'training." + key + "' needs a validation file"), r.err());
            assertFalse(r.out().contains("trainable"), "the model was loaded: " + r.out());
        }
    }

    /** The library names its builder's settings (warmupRatio); the error names the key of the config file. */
    @Test
    void anOutOfRangeTrainingSettingIsNamedByItsConfigKey() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", loraRun("{max_steps: 2, warmup_ratio: 2}").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("training.warmup_ratio must be in [0, 1), got 2.0") && !r.err().contains("warmupRatio"),
                r.err());
        r = CliTestSupport.run("train", "-c", loraRun("{epochs: 0}").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("use training.max_steps for shorter runs"), r.err());
        r = CliTestSupport.run("train", "-c", loraRun("{max_steps: 2.5}").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("at 'training.max_steps': expected a whole number"), r.err());
        r = CliTestSupport.run("train", "-c", loraRun("{max_steps: 2, micro_batch_size: 0}").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("invalid 'training' settings: training.micro_batch_size must be >= 1, got 0")
                && !r.err().contains("microBatchSize"), r.err());
    }

    /** Every checkpoint was kept (a real model's hold the adapter and optimizer state); keep_last_checkpoints bounds them. */
    @Test
    void keepLastCheckpointsBoundsTheCheckpointsLeft() throws Exception {
        Path cfg = loraRun("{max_steps: 5, micro_batch_size: 4, save_every_steps: 1, keep_last_checkpoints: 2}");
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", cfg.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        try (var left = Files.list(dir.resolve("run/checkpoints"))) {
            assertEquals(List.of("checkpoint-4", "checkpoint-5"),
                    left.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aFractionalCountIsBadInputNotTruncated() throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                data: {train: train.jsonl, prompt_template: "Q: {prompt}\\nA: "}
                training: {max_steps: 2, micro_batch_size: 4.7}
                """);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", file.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("micro_batch_size"), r.err());
        CliTestSupport.Run rank = CliTestSupport.run("train", "-c", config("method: lora\npeft: {r: 4.7}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, rank.exitCode());
        assertTrue(rank.err().contains("'r' = 4.7 must be an integer"), rank.err());
    }

    @Test
    void unknownMethodIsBadInputListingTheMethods() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("method: lorax\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("unknown method 'lorax'") && r.err().contains("qlora"), r.err());
    }

    @Test
    void unknownPeftKeyIsBadInput() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("method: lora\npeft: {rank: 8}\n").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("peft.rank") && r.err().contains("lora_alpha"), r.err());
    }

    /** A LoRA run whose training section is {@code training}, written to its own output folder. */
    private CliTestSupport.Run trainWith(String training, String output) throws Exception {
        Path file = dir.resolve(output + ".yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                method: lora
                peft: {r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj]}
                data: {train: train.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: %s
                output: %s
                """.formatted(training, output));
        return CliTestSupport.run("train", "-c", file.toString());
    }

    /** auto is f32 on the CPU; bf16-mixed and gradient checkpointing reach the trainer, which then trains otherwise. */
    @Test
    void precisionAndGradientCheckpointingReachTheTrainer() throws Exception {
        String steps = "max_steps: 2, micro_batch_size: 4, learning_rate: 1.0e-2, seed: 1";
        CliTestSupport.Run auto = trainWith("{" + steps + "}", "auto");
        assertEquals(ExitCodes.OK, auto.exitCode(), auto.err());
        assertTrue(auto.out().lines().anyMatch("on cpu in f32"::equals), auto.out());
        CliTestSupport.Run bf16 = trainWith("{" + steps + ", precision: bf16-mixed, gradient_checkpointing: true}", "bf16");
        assertEquals(ExitCodes.OK, bf16.exitCode(), bf16.err());
        assertTrue(bf16.out().contains("on cpu in bf16-mixed, with gradient checkpointing"), bf16.out());
        byte[] f32Weights = Files.readAllBytes(dir.resolve("auto/adapter/adapter_model.safetensors"));
        byte[] bf16Weights = Files.readAllBytes(dir.resolve("bf16/adapter/adapter_model.safetensors"));
        assertEquals(f32Weights.length, bf16Weights.length);
        assertFalse(Arrays.equals(f32Weights, bf16Weights), "bf16-mixed trained the same weights as f32");
    }

    @Test
    void anUnknownPrecisionIsBadInputListingTheChoices() throws Exception {
        CliTestSupport.Run r = trainWith("{max_steps: 1, precision: fp16}", "run");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("'fp16' is not one of f32, bf16-mixed, auto"), r.err());
    }
}
