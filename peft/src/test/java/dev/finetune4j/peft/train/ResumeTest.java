package dev.finetune4j.peft.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bit-for-bit resume: 20 steps in one run equal 10 steps, a resume in a new process and 10 more, and a run
 * killed at an arbitrary moment (saving every step) resumes from its last complete checkpoint to the same
 * adapter. Runs happen in child JVMs with the production flags (Vector API kernels on), so a cold JVM must
 * reproduce a warm one's bits: the kernels' summation order does not depend on what the JIT has compiled.
 */
class ResumeTest {
    @Test
    void twentyStepsEqualTenPlusResumePlusTenAndAKilledRunResumes(@TempDir Path tmp) throws Exception {
        Path full = tmp.resolve("full");
        assertEquals(0, child("train", full, 10).waitFor());
        assertTrue(Files.isDirectory(full.resolve("checkpoint-10")), "checkpoint-10 written");
        Map<String, float[]> expected = TrainTestSupport.adapterWeights(full.resolve("final"));

        Path resumed = tmp.resolve("resumed");
        assertEquals(0, child("resume", resumed, 10, full.resolve("checkpoint-10")).waitFor());
        assertSame(expected, TrainTestSupport.adapterWeights(resumed.resolve("final")), "10 + resume + 10");

        Path killed = tmp.resolve("killed");
        Process p = child("slow", killed, 1);
        boolean caughtMidSave = killWhileSaving(p, killed);
        Path last = Checkpoints.latest(killed).orElseThrow();
        int step = Checkpoints.stepOf(last);
        assertTrue(step >= 4 && step < TrainingChild.STEPS, "killed after checkpoint " + step);
        System.out.println("killed at checkpoint " + step + (caughtMidSave ? " while a checkpoint was being written" : ""));
        Path again = tmp.resolve("again");
        assertEquals(0, child("resume", again, 10, last).waitFor());
        assertSame(expected, TrainTestSupport.adapterWeights(again.resolve("final")), "killed at " + step + " + resume");
    }

    @Test
    void aHalfWrittenCheckpointIsIgnored(@TempDir Path tmp) throws IOException {
        Path good = tmp.resolve("checkpoint-3");
        Files.createDirectories(good);
        Files.writeString(good.resolve(TrainerState.FILE), "{}");
        Path partial = tmp.resolve(".tmp-checkpoint-4");
        Files.createDirectories(partial.resolve("adapter"));
        Files.write(partial.resolve("adapter").resolve(Checkpoints.ADAPTER_FILE), new byte[]{1, 2, 3});
        Path incomplete = tmp.resolve("checkpoint-5"); // no trainer_state.json: never renamed by us, ignored anyway
        Files.createDirectories(incomplete);
        assertEquals(good, Checkpoints.latest(tmp).orElseThrow());
        assertEquals(List.of(good), Checkpoints.list(tmp));
    }

    /** Kills the child after checkpoint 4, as soon as a temporary checkpoint folder is seen (or after checkpoint 8). */
    private static boolean killWhileSaving(Process p, Path dir) throws Exception {
        boolean midSave = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (Files.isDirectory(dir)) {
                List<String> names = new ArrayList<>();
                try (Stream<Path> s = Files.list(dir)) {
                    s.forEach(f -> names.add(f.getFileName().toString()));
                } catch (IOException ignored) {
                    continue; // a folder renamed while listing
                }
                int newest = names.stream().filter(n -> n.startsWith(Checkpoints.PREFIX))
                        .mapToInt(n -> Checkpoints.stepOf(dir.resolve(n))).max().orElse(0);
                midSave = newest >= 4 && names.stream().anyMatch(n -> n.startsWith(".tmp-"));
                if (midSave || newest >= 8) {
                    p.destroyForcibly().waitFor();
                    return midSave;
                }
            }
        }
        p.destroyForcibly().waitFor();
        throw new AssertionError("the child ended before it could be killed (exit " + p.exitValue() + ")");
    }

    private static Process child(String mode, Path out, int saveEvery, Path... checkpoint) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"),
                TrainingChild.class.getName(), mode, out.toString(), Integer.toString(saveEvery)));
        for (Path c : checkpoint) {
            cmd.add(c.toString());
        }
        return new ProcessBuilder(cmd).inheritIO().start();
    }

    private static void assertSame(Map<String, float[]> expected, Map<String, float[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        assertFalse(expected.isEmpty());
        expected.forEach((name, values) -> assertArrayEquals(values, actual.get(name), what + ": " + name));
    }
}
