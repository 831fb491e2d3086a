package dev.finetune4j.spark;

import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where inputs are: any file name on the local disk, a missing file, a file system configured only in the session.
 */
class InputPathsTest {
    private static final String LINES = "{\"text\":\"the printer on floor two jams\"}\nnot json\n"
            + "{\"text\":\"the badge reader at the door is broken\"}\n";
    @TempDir
    java.nio.file.Path dir;

    @Test
    void aFileNameWithSpacesAndAccentsReadsAsOnOneMachine() throws IOException {
        java.nio.file.Path in = Files.writeString(Files.createDirectories(dir.resolve("raw data")).resolve(
                "tickets été #1.jsonl"), LINES);
        PipelineReport expected = Pipeline.builder().read(Formats.jsonl(in)).step(new ExactDedup())
                .write(dir.resolve("single")).run();
        PipelineReport actual = SparkPipeline.builder(SharedSpark.get()).read(Formats.jsonl(in))
                .step(new ExactDedup()).write(dir.resolve("spark").toString()).run();
        assertEquals(expected.inputs(), actual.inputs());
        assertEquals(EnginesAgreeTest.lines(dir.resolve("single/data.jsonl")),
                EnginesAgreeTest.lines(dir.resolve("spark/data")));
        assertEquals(EnginesAgreeTest.lines(dir.resolve("single/quarantine.jsonl")),
                EnginesAgreeTest.lines(dir.resolve("spark/quarantine")));
    }

    @Test
    void aMissingInputIsRefusedByPathBeforeAnyJob() throws IOException {
        java.nio.file.Path present = Files.writeString(dir.resolve("present.jsonl"), LINES);
        java.nio.file.Path missing = dir.resolve("missing.jsonl");
        FileNotFoundException e = SharedSpark.refusedBeforeAnyJob(FileNotFoundException.class,
                () -> SparkPipeline.builder(SharedSpark.get()).read(Formats.jsonl(present))
                        .read(Formats.jsonl(missing)).step(TextCleaner.defaults())
                        .write(dir.resolve("out").toString()).run());
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"),
                e.getMessage());
    }

    /** The local file system under the scheme {@code session-only}, which only the session's configuration names. */
    public static final class SessionOnlyFileSystem extends RawLocalFileSystem {
        static final String SCHEME = "session-only";

        @Override
        public URI getUri() {
            return URI.create(SCHEME + ":///");
        }

        @Override
        public String getScheme() {
            return SCHEME;
        }

        @Override
        public File pathToFile(Path path) {
            return new File(path.toUri().getPath());
        }
    }

    @Test
    void tasksOpenInputsWithTheSessionsHadoopConfiguration() throws IOException {
        java.nio.file.Path in = Files.writeString(dir.resolve("tickets.jsonl"), LINES);
        // NOTE: what a spark.hadoop.* setting does; the cache is off so that tasks cannot reuse the driver's instance
        Configuration conf = SharedSpark.get().sparkContext().hadoopConfiguration();
        String impl = "fs." + SessionOnlyFileSystem.SCHEME + ".impl";
        String noCache = "fs." + SessionOnlyFileSystem.SCHEME + ".impl.disable.cache";
        conf.set(impl, SessionOnlyFileSystem.class.getName());
        conf.setBoolean(noCache, true);
        try {
            PipelineReport report = SparkPipeline.builder(SharedSpark.get())
                    .read(new SparkInput(SessionOnlyFileSystem.SCHEME + "://" + in, Formats.jsonl(in).format(),
                            Formats.jsonl(in).options()))
                    .write(dir.resolve("out").toString()).run();
            assertEquals(2, report.written());
        } finally {
            conf.unset(impl);
            conf.unset(noCache);
        }
    }
}
