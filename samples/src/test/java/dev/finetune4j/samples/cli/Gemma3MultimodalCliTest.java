package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.Gemma3MultimodalFolders;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tool on a Gemma3ForConditionalGeneration folder (core's Gemma3MultimodalFolders with a 256-token word-level
 * tokenizer): train writes a PEFT adapter for the whole class, eval scores with it, merge writes a whole folder with
 * the vision tower, and export-onnx refuses, saying what to use instead.
 */
class Gemma3MultimodalCliTest {
    @TempDir
    Path dir;

    @BeforeEach
    void folderAndData() throws Exception {
        Gemma3MultimodalFolders.write(dir.resolve("model"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        CliTestSupport.wordLevelTokenizer(dir.resolve("model/tokenizer.json"), 256);
        List<String> rows = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            rows.add("{\"instruction\": \"w" + i + " w" + (i + 10) + "\", \"output\": \"w" + (i + 20) + " w" + (i + 30) + "\"}");
        }
        Files.write(dir.resolve("train.jsonl"), rows);
        Files.writeString(dir.resolve("train.yaml"), """
                model: model
                data: {train: train.jsonl, prompt_template: "w1 {prompt} w2 ", max_length: 32}
                method: lora
                peft: {r: 4, lora_alpha: 8}
                training: {max_steps: 2, micro_batch_size: 4, learning_rate: 1.0e-3, seed: 1}
                output: run
                """);
    }

    @Test
    void trainEvalAndMergeWorkOnTheLanguageModel() throws Exception {
        CliTestSupport.Run train = CliTestSupport.run("train", "-c", dir.resolve("train.yaml").toString());
        assertEquals(ExitCodes.OK, train.exitCode(), train.err());
        String config = Files.readString(dir.resolve("run/adapter/adapter_config.json"));
        assertTrue(config.contains("Gemma3ForConditionalGeneration") && config.contains("model\\\\.language_model\\\\.layers"), config);
        try (SafetensorsFile adapter = SafetensorsFile.open(dir.resolve("run/adapter/adapter_model.safetensors"))) {
            assertTrue(adapter.names().contains("base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight"),
                    adapter.names().toString());
        }

        // in a new JVM, as the tool runs, so that its log (slf4j-simple, on stderr) is seen
        CliTestSupport.Run eval = CliTestSupport.runInNewJvm(List.of(), "eval", "--model", dir.resolve("model").toString(),
                "--adapter", dir.resolve("run/adapter").toString(), "--data", dir.resolve("train.jsonl").toString(),
                "--prompt-template", "w1 {prompt} w2 ", "--max-new-tokens", "2");
        assertEquals(ExitCodes.OK, eval.exitCode(), eval.err());
        assertTrue(eval.out().contains("perplexity"), eval.out());
        String visionLine = "its vision tower and projector (5 tensors) are not loaded";
        assertEquals(1, eval.err().split(java.util.regex.Pattern.quote(visionLine), -1).length - 1, eval.err());
        assertFalse(eval.err().contains("were not used"), "no warning per vision tensor: " + eval.err());

        CliTestSupport.Run merge = CliTestSupport.run("merge", "-b", dir.resolve("model").toString(), "-a",
                dir.resolve("run/adapter").toString(), "-o", dir.resolve("merged").toString());
        assertEquals(ExitCodes.OK, merge.exitCode(), merge.err());
        try (SafetensorsCheckpoint base = SafetensorsCheckpoint.open(dir.resolve("model"));
             SafetensorsCheckpoint merged = SafetensorsCheckpoint.open(dir.resolve("merged"))) {
            for (String vision : Gemma3MultimodalFolders.VISION_TENSORS.keySet()) {
                assertArrayEquals(base.tensor(vision).toFloatArray(), merged.tensor(vision).toFloatArray(), vision);
            }
            String q = "model.language_model.layers.0.self_attn.q_proj.weight";
            assertFalse(java.util.Arrays.equals(base.tensor(q).toFloatArray(), merged.tensor(q).toFloatArray()),
                    "the adapter is merged into q_proj");
        }
        try (LanguageModel reloaded = AutoModel.loadCausalLM(dir.resolve("merged"))) {
            assertEquals("gemma3", reloaded.spec().modelType());
        }
    }

    /** serve stops at config.json's eos_token_id, which a Gemma 3 config may hold in text_config only. */
    @Test
    void serveReadsTheStopTokensOfTextConfigWhenTheTopLevelHasNone() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertEquals(Set.of(1L, 106L), ServeCommand.stopTokens(json.readTree(
                "{\"eos_token_id\": [1, 106], \"text_config\": {\"eos_token_id\": 7}}")));
        assertEquals(Set.of(1L), ServeCommand.stopTokens(json.readTree("{\"text_config\": {\"eos_token_id\": 1}}")));
        assertEquals(Set.of(), ServeCommand.stopTokens(json.readTree("{\"text_config\": {}}")));
    }

    @Test
    void exportOnnxIsBadInputSayingWhatToUse() {
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", dir.resolve("model").toString(), "-o",
                dir.resolve("onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("without its vision tower"), r.err());
        assertFalse(Files.exists(dir.resolve("onnx")));
    }
}
