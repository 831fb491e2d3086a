package dev.finetune4j.samples.cli;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MergeCommandTest {
    @TempDir
    Path dir;

    @Test
    void mergedModelComputesWhatTheAdapterModelComputes() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        long[][] ids = {{81, 58, 32, 104, 105, 63, 10, 65, 58, 32}};
        float[][][] expected;
        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).loraAlpha(8)
                .targetModules("q_proj", "v_proj").initLoraWeights(LoraInit.RANDOM).build(), 5)) {
            m.save(dir.resolve("adapter"));
            expected = m.logits(ids, null);
        }
        CliTestSupport.Run r = CliTestSupport.run("merge", "--base", base.toString(), "--adapter",
                dir.resolve("adapter").toString(), "--output", dir.resolve("merged").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        try (LanguageModel merged = AutoModel.loadCausalLM(dir.resolve("merged"));
             LanguageModel plain = AutoModel.loadCausalLM(base)) {
            float[][][] actual = merged.logits(ids, null);
            float[][][] baseLogits = plain.logits(ids, null);
            assertTrue(Math.abs(baseLogits[0][3][7] - expected[0][3][7]) > 1e-5, "the adapter must change the output");
            double worst = CliTestSupport.largestDifference(actual, expected);
            assertTrue(worst < 1e-4, "largest logit difference " + worst);
        }
    }

    @Test
    void folderWithoutAdapterConfigIsBadInput() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        Files.createDirectories(dir.resolve("empty"));
        CliTestSupport.Run r = CliTestSupport.run("merge", "-b", base.toString(), "-a", dir.resolve("empty").toString(),
                "-o", dir.resolve("merged").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("no adapter_config.json"), r.err());
    }

    /** --overwrite replaced the base model's folder, the adapter's, or a folder holding them, with the merged model. */
    @Test
    void overwriteNeverReplacesTheBaseOrAdapterFolderOrOneAboveThem() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).build(), 5)) {
            m.save(dir.resolve("adapter"));
        }
        String[] named = {"is the base model's folder", "is the adapter's folder", "contains the "};
        Path[] outputs = {base, dir.resolve("adapter"), dir};
        for (int i = 0; i < outputs.length; i++) {
            CliTestSupport.Run r = CliTestSupport.run("merge", "-b", base.toString(), "-a", dir.resolve("adapter").toString(),
                    "-o", outputs[i].toString(), "--overwrite");
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains("cannot write the merged model to " + outputs[i].toRealPath() + ": it " + named[i]),
                    r.err());
        }
        assertTrue(Files.exists(dir.resolve("adapter/adapter_config.json")) && Files.exists(base.resolve("config.json")));
    }
}
