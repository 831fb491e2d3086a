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

    /**
     * A bundled file's copy.
     *
     * @param name the file's name, e.g. {@link #SUPPORT}
     * @return {@code raw/name}
     */
    public Path raw(String name) {
        return root.resolve("raw").resolve(name);
    }

    /**
     * The prepared data: clean splits, step report and manifest.
     *
     * @return {@code data/}
     */
    public Path data() {
        return root.resolve("data");
    }

    /**
     * The DPO pairs.
     *
     * @return {@code preference/}
     */
    public Path preference() {
        return root.resolve("preference");
    }

    /**
     * The trained adapter in PEFT format.
     *
     * @return {@code adapter/}
     */
    public Path adapter() {
        return root.resolve("adapter");
    }

    /**
     * The merged model as a Hugging Face folder.
     *
     * @return {@code merged/}
     */
    public Path merged() {
        return root.resolve("merged");
    }

    /**
     * The trainers' checkpoints.
     *
     * @return {@code runs/}
     */
    public Path runs() {
        return root.resolve("runs");
    }

    /**
     * The HTML evaluation report.
     *
     * @return {@code report.html}
     */
    public Path reportHtml() {
        return root.resolve("report.html");
    }

    /**
     * The evaluation numbers as JSON.
     *
     * @return {@code results.json}
     */
    public Path resultsJson() {
        return root.resolve("results.json");
    }

    /** Copies the bundled data out of the class path into {@code raw/} (replacing earlier copies). */
    public void extractBundledData() {
        for (String name : new String[]{SUPPORT, GENERAL, FEEDBACK, JUDGMENTS}) {
            extract(name, raw(name));
        }
    }

    /**
     * Copies the bundled resource {@code /quickstart/name} to {@code target}.
     *
     * @param name the file's name under {@code /quickstart/}
     * @param target where to write it (replaced when it exists)
     */
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
