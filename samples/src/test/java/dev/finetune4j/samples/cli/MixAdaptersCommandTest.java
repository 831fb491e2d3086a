package dev.finetune4j.samples.cli;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.mix.AdapterMix;
import dev.finetune4j.peft.mix.CombinationType;
import dev.finetune4j.peft.mix.MixOptions;
import dev.finetune4j.peft.mix.MixedAdapter;
import dev.finetune4j.peft.mix.WeightedAdapter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MixAdaptersCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesWhatTheLibraryComputesWithTheWeightsAfterTheColon() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        Path first = adapter(base, "first", 5, "q_proj", "v_proj");
        Path second = adapter(base, "second", 6, "q_proj", "o_proj");
        CliTestSupport.Run r = CliTestSupport.run("mix-adapters", "--adapter", first + ":0.7", "--adapter", second + ":-0.4",
                "--type", "ties", "--density", "0.5", "--majority-sign", "frequency", "--out", dir.resolve("mixed").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("mixed adapter (ties of 2, r 4,"), r.out());
        try (AdapterFiles a = AdapterFiles.read(first); AdapterFiles b = AdapterFiles.read(second);
             AdapterFiles written = AdapterFiles.read(dir.resolve("mixed"))) {
            MixedAdapter expected = AdapterMix.combine(List.of(new WeightedAdapter(a, 0.7), new WeightedAdapter(b, -0.4)),
                    CombinationType.TIES, MixOptions.builder().density(0.5)
                            .majoritySign(dev.finetune4j.peft.mix.MajoritySign.FREQUENCY).build());
            assertEquals(expected.factors().keySet(), written.weights().keySet());
            expected.factors().forEach((name, m) -> {
                float[] values = new float[m.values().length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) m.values()[i];
                }
                assertArrayEquals(values, written.weights().get(name).toFloatArray(), 0f, name);
            });
        }
        try (PeftModel loaded = Peft.load(AutoModel.loadCausalLM(base), dir.resolve("mixed"))) {
            assertEquals(4, ((LoraConfig) loaded.config()).r(), "the mixed adapter loads on its base");
        }
    }

    @Test
    void badInputExitsWithTwoAndSaysWhatToFix() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        Path first = adapter(base, "first", 5, "q_proj");
        Path out = dir.resolve("out");
        String[][] runs = {
                {"--adapter", first.toString(), "--adapter", first + ":2", "--type", "ties", "--output", out.toString()},
                {"--adapter", first.toString(), "--type", "average", "--output", out.toString()},
                {"--adapter", dir.resolve("missing").toString(), "--type", "cat", "--output", out.toString()},
                {"--adapter", first.toString(), "--type", "cat", "--output", first.toString(), "--overwrite"},
                {"--adapter", first + ":NaN", "--type", "cat", "--output", out.toString()},
        };
        String[] messages = {"ties needs a density", "unknown combination type 'average'", "no adapter_config.json in",
                "cannot write the mixed adapter to " + first.toRealPath(), "the weight must be a finite number"};
        for (int i = 0; i < runs.length; i++) {
            String[] args = new String[runs[i].length + 1];
            args[0] = "mix-adapters";
            System.arraycopy(runs[i], 0, args, 1, runs[i].length);
            CliTestSupport.Run r = CliTestSupport.run(args);
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains(messages[i]), "expected '" + messages[i] + "' in " + r.err());
        }
        assertTrue(Files.notExists(out), "nothing is written on bad input");
    }

    private Path adapter(Path base, String name, long seed, String... targets) {
        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).loraAlpha(8)
                .targetModules(targets).initLoraWeights(LoraInit.RANDOM).build(), seed)) {
            m.save(dir.resolve(name));
        }
        return dir.resolve(name);
    }
}
