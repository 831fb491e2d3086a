package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Runs the tool in-process with captured output, and writes a tiny random model folder to train on. */
final class CliTestSupport {
    private CliTestSupport() {
    }

    /** Exit code and what the tool printed. */
    record Run(int exitCode, String out, String err) {
    }

    static Run run(String... args) {
        CommandLine cl = Finetune4j.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** The quickstart's model architecture with random N(0, 0.02) weights, as a Hugging Face folder. */
    static Path tinyModel(Path dir) throws IOException {
        return tinyModel(dir, BaseModelConfig.configJson());
    }

    /** A model of {@code config} (a config.json) with random N(0, 0.02) weights, as a Hugging Face folder. */
    static Path tinyModel(Path dir, ObjectNode config) throws IOException {
        try (LanguageModel m = AutoModel.newCausalLM(config, TensorScope.detached())) {
            StateDicts.initNormal(m, 0.02, new SplittableRandom(3));
            HfModelFolder.save(m, config, null, dir);
        }
        return dir;
    }

    /** The largest |actual - expected| over the first batch row's logits, (B, T, V). */
    static double largestDifference(float[][][] actual, float[][][] expected) {
        double worst = 0;
        for (int t = 0; t < actual[0].length; t++) {
            for (int v = 0; v < actual[0][t].length; v++) {
                worst = Math.max(worst, Math.abs(actual[0][t][v] - expected[0][t][v]));
            }
        }
        return worst;
    }
}
