package dev.finetune4j.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The config example of a command's --help, copied into a file, is read as it is meant: printed at 80 columns its
 * long lines were wrapped, and the copy parsed into a config without data.train (train) or output (prepare).
 */
class HelpExamplesTest {
    @TempDir
    Path dir;

    @Test
    void theTrainExampleParsesAndOnlyItsModelFolderIsMissing() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", example("train", "train.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("model folder " + dir.resolve("models/Qwen2.5-0.5B-Instruct") + " does not exist"), r.err());
    }

    @Test
    void thePrepareExampleParsesAndOnlyItsInputIsMissing() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", example("prepare", "prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("input file " + dir.resolve("raw.jsonl") + " does not exist"), r.err());
    }

    /** The indented lines after "Config example" in {@code command --help}, written to {@code file}. */
    private Path example(String command, String file) throws Exception {
        List<String> help = CliTestSupport.run(command, "--help").out().lines().toList();
        List<String> example = help.subList(help.indexOf(help.stream().filter(l -> l.startsWith("Config example")).findFirst()
                .orElseThrow()) + 1, help.size()).stream().takeWhile(l -> l.startsWith("  ")).toList();
        return Files.write(dir.resolve(file), example);
    }
}
