package dev.finetune4j.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a new user sees before the work starts, in a new JVM each time (the probes run once per process): help and
 * version print nothing but themselves, and the first tokenizer load does not warn about a GPU it never uses.
 */
class StartupOutputTest {
    /** The line {@code Device.auto()} logs when it probes for a GPU. */
    private static final String DEVICE_PROBE_LINE = "dev.finetune4j.core.backend.Device - device: ";
    private static final String DJL_GPU_WARNING = "Failed to detect GPU count";

    @TempDir
    Path dir;

    /** The control: a command that resolves --device auto logs the probe's line where this test captures it. */
    @Test
    void aCommandThatResolvesItsDeviceLogsTheProbeButHelpAndVersionPrintOnlyThemselves() throws Exception {
        CliTestSupport.Run resolves = CliTestSupport.runInNewJvm(List.of(), "eval", "--model", dir.toString(), "--data",
                dir.resolve("missing.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, resolves.exitCode(), resolves.err());
        assertTrue(resolves.err().contains(DEVICE_PROBE_LINE), resolves.err());

        for (List<String> args : List.of(List.of("--help"), List.of("train", "--help"), List.of("eval", "--help"),
                List.of("serve", "--help"), List.of("help", "train"))) {
            CliTestSupport.Run help = CliTestSupport.runInNewJvm(List.of(), args.toArray(String[]::new));
            assertEquals(ExitCodes.OK, help.exitCode(), args + ": " + help.err());
            assertEquals("", help.err(), args + " printed on stderr");
            assertTrue(help.out().startsWith("Usage: finetune4j"), args + ": " + help.out());
        }
        CliTestSupport.Run version = CliTestSupport.runInNewJvm(List.of(), "--version");
        assertEquals(ExitCodes.OK, version.exitCode(), version.err());
        assertEquals("", version.err());
        assertEquals("finetune4j 0.2.0-SNAPSHOT", version.out().strip());
    }

    /**
     * DJL probes for a GPU at the first tokenizer load and warns wherever the CUDA runtime loads without a usable
     * driver (this test's control shows whether this machine is one); the tool logs only DJL's errors, unless the
     * user sets the logger's level, which wins.
     */
    @Test
    void theFirstTokenizerLoadDoesNotWarnAboutTheGpuUnlessTheUserAsksForDjlWarnings() throws Exception {
        Path cfg = configThatLoadsATokenizer();
        CliTestSupport.Run asked = CliTestSupport.runInNewJvm(
                List.of("-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=warn"), "train", "-c", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, asked.exitCode(), asked.err());
        assertTrue(asked.err().contains("the tokenizer has 300 tokens"), "the tokenizer was not loaded: " + asked.err());
        assumeTrue(asked.err().contains(DJL_GPU_WARNING),
                "DJL warns only where the CUDA runtime (libcudart) loads but no driver or GPU answers; not so here");

        CliTestSupport.Run plain = CliTestSupport.runInNewJvm(List.of(), "train", "-c", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, plain.exitCode(), plain.err());
        assertTrue(plain.err().contains("the tokenizer has 300 tokens"), "the tokenizer was not loaded: " + plain.err());
        assertFalse(plain.err().contains(DJL_GPU_WARNING), plain.err());
        assertFalse(plain.err().contains("ai.djl."), "DJL logged below WARN: " + plain.err());
    }

    /** A train config whose model folder holds a 300-token tokenizer.json for a 259-token model: refused after loading it. */
    private Path configThatLoadsATokenizer() throws Exception {
        CliTestSupport.tinyModel(dir.resolve("model"));
        CliTestSupport.wordLevelTokenizer(dir.resolve("model/tokenizer.json"), 300);
        Path cfg = dir.resolve("train.yaml");
        Files.writeString(cfg, """
                model: model
                data: {train: train.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 1}
                output: run
                """);
        return cfg;
    }
}
