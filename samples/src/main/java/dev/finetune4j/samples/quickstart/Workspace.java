package dev.finetune4j.samples.quickstart;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The folders of one quickstart run under its output folder (default {@code samples/target/quickstart}):
 * {@code raw/} (the bundled data, copied out of the jar), {@code data/} (clean splits, step report, manifest),
 * {@code preference/} (DPO pairs), {@code adapter/} (PEFT format), {@code merged/} (Hugging Face folder),
 * {@code runs/} (trainer checkpoints), {@code report.html} and {@code results.json}.
 *
 * @param root the run's output folder
 */
public record Workspace(Path root) {
    /** The bundled files, as found on the class path under {@code /quickstart/}. */
    public static final String SUPPORT = "support_raw.jsonl";
    public static final String GENERAL = "general_corpus.jsonl";
    public static final String FEEDBACK = "feedback_log.jsonl";
    public static final String JUDGMENTS = "ab_judgments.jsonl";

    public Path raw(String name) {
        return root.resolve("raw").resolve(name);
    }

    public Path data() {
        return root.resolve("data");
    }

    public Path preference() {
        return root.resolve("preference");
    }

    public Path adapter() {
        return root.resolve("adapter");
    }

    public Path merged() {
        return root.resolve("merged");
    }

    public Path runs() {
        return root.resolve("runs");
    }

    public Path reportHtml() {
        return root.resolve("report.html");
    }

    public Path resultsJson() {
        return root.resolve("results.json");
    }

    /** Copies the bundled data out of the class path into {@code raw/} (replacing earlier copies). */
    public void extractBundledData() {
        for (String name : new String[]{SUPPORT, GENERAL, FEEDBACK, JUDGMENTS}) {
            extract(name, raw(name));
        }
    }

    /** Copies the bundled resource {@code /quickstart/name} to {@code target}. */
    public static void extract(String name, Path target) {
        try (InputStream in = Workspace.class.getResourceAsStream("/quickstart/" + name)) {
            if (in == null) {
                throw new IllegalStateException("bundled file /quickstart/" + name + " is not on the class path; "
                        + "rebuild the samples module (mvn -pl samples install)");
            }
            Files.createDirectories(target.getParent());
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy /quickstart/" + name + " to " + target, e);
        }
    }
}
