package dev.finetune4j.samples.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void tinyModelAndData() throws Exception {
        CliTestSupport.tinyModel(dir.resolve("model"));
        List<String> sft = new ArrayList<>();
        List<String> dpo = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            sft.add("{\"instruction\": \"fee of card " + i + "?\", \"output\": \"" + (i * 50) + " yuan.\"}");
            dpo.add("{\"prompt\": \"fee of card " + i + "?\", \"chosen\": \"" + (i * 50) + " yuan.\", \"rejected\": \"no idea\"}");
        }
        Files.write(dir.resolve("train.jsonl"), sft);
        Files.write(dir.resolve("pairs.jsonl"), dpo);
    }

    private Path config(String body) throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                data: {train: %s, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 2, micro_batch_size: 4, learning_rate: 1.0e-3, seed: 1}
                output: run
                """.formatted(body.contains("dpo") ? "pairs.jsonl" : "train.jsonl") + body);
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

    @Test
    void dpoWithIa3Trains() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("objective: dpo\nmethod: ia3\n").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.readString(dir.resolve("run/adapter/adapter_config.json")).contains("\"IA3\""));
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
}
