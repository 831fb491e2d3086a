package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import picocli.CommandLine;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

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

    /**
     * Runs the tool's {@code main} in a new JVM, as {@code java -jar finetune4j.jar} would: the tests' class path
     * without log4j's SLF4J binding (Spark's, which finetune4j.jar does not ship), so the tool logs through
     * slf4j-simple to stderr. A new JVM also runs the one-per-process probes (device, DJL's GPU count) afresh.
     *
     * @param jvmOptions options before the class name, e.g. a {@code -D} property
     * @param args       the tool's command line
     */
    static Run runInNewJvm(List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).getFileName().toString().startsWith("log4j-slf4j"))
                .collect(Collectors.joining(File.pathSeparator));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath)); // the flags finetune4j.jar's manifest sets
        command.addAll(jvmOptions);
        command.add(Finetune4j.class.getName());
        command.addAll(List.of(args));
        Path out = Files.createTempFile("finetune4j-out", ".txt");
        Path err = Files.createTempFile("finetune4j-err", ".txt");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the tool did not end in 120 s: " + command);
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.delete(out);
            Files.delete(err);
        }
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

    /** A Hugging Face WordLevel tokenizer.json of {@code tokens} tokens ([UNK], w1, w2...) at {@code file}. */
    static void wordLevelTokenizer(Path file, int tokens) throws IOException {
        StringBuilder vocab = new StringBuilder("\"[UNK]\": 0");
        for (int i = 1; i < tokens; i++) {
            vocab.append(", \"w").append(i).append("\": ").append(i);
        }
        Files.writeString(file, """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
                 "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {%s}, "unk_token": "[UNK]"}}
                """.formatted(vocab));
    }

    /**
     * A tokenizer folder at {@code dir} whose chat template is Qwen2.5's (core's chat-templates fixture, which writes
     * tools and {@code <tool_call>} blocks) over core's byte-level BPE test tokenizer (270 tokens), which knows Qwen's
     * special tokens.
     */
    static Path qwenToolTokenizer(Path dir) throws IOException {
        return bytebpeTokenizer(dir, "qwen2.5-7b-instruct");
    }

    /**
     * A tokenizer folder at {@code dir}: core's byte-level BPE test tokenizer (270 tokens) with the chat template of
     * core's chat-templates fixture {@code template} (e.g. {@code deepseek-r1-distill-qwen-32b}).
     */
    static Path bytebpeTokenizer(Path dir, String template) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), resource("/tokenizer/bytebpe/tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), resource("/tokenizer/bytebpe/tokenizer_config.json"));
        Files.writeString(dir.resolve("chat_template.jinja"), resource("/chat-templates/" + template + ".jinja"));
        return dir;
    }

    private static String resource(String path) throws IOException {
        try (InputStream in = CliTestSupport.class.getResourceAsStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
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
