package dev.finetune4j.samples.quickstart;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The quickstart's own JVM, as a user starts it: a mistyped option is named with the likely one, not a stack trace. */
class QuickstartOptionsTest {
    @TempDir
    Path dir;

    @Test
    void aMistypedOptionIsNamedWithTheLikelyOneAndExitCode2() throws Exception {
        Path err = dir.resolve("stderr.txt");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Quickstart.class.getName(), "--smoek")
                .redirectOutput(dir.resolve("stdout.txt").toFile()).redirectError(err.toFile()).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the quickstart did not stop");
        String printed = Files.readString(err);
        assertEquals(2, process.exitValue(), printed);
        assertTrue(printed.contains("Unknown option: '--smoek'") && printed.contains("Possible solutions: --smoke"), printed);
        assertFalse(printed.contains("Exception in thread"), printed);
    }
}
