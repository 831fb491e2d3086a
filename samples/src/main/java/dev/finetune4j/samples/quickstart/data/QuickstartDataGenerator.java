package dev.finetune4j.samples.quickstart.data;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes the quickstart's bundled data, deterministically (seed 7), into a folder (by default
 * {@code samples/src/main/resources/quickstart}):
 * <ul>
 *   <li>{@code support_raw.jsonl}: the dirty customer-service export (see {@link SupportExport})</li>
 *   <li>{@code general_corpus.jsonl}: {@code {"text"}} records for pretraining the base model</li>
 *   <li>{@code feedback_log.jsonl}: thumbs up/down events for preference pairs</li>
 *   <li>{@code ab_judgments.jsonl}: pairwise judgments (A, B, tie)</li>
 * </ul>
 * Run: {@code mvn -q -pl samples exec:exec@generate-data} (or this class's main with the folder as argument).
 */
public final class QuickstartDataGenerator {
    /** The seed every bundled file derives from. */
    public static final long SEED = 7;
    private static final ObjectMapper JSON = new ObjectMapper();

    private QuickstartDataGenerator() {
    }

    /**
     * Writes the quickstart data to the folder given as the first argument (default: the module's resources).
     *
     * @param args optionally the output folder
     * @throws IOException when a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "samples/src/main/resources/quickstart");
        write(out);
        System.out.println("wrote the quickstart data to " + out.toAbsolutePath());
    }

    /**
     * Writes the four files into {@code dir} (created when missing).
     *
     * @param dir the output folder
     * @throws IOException when a file cannot be written
     */
    public static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        SupportExport export = new SupportExport(SEED);
        writeLines(dir.resolve("support_raw.jsonl"), export.lines());
        List<String[]> pairs = export.cleanPairs();
        FeedbackLogs feedback = new FeedbackLogs(SEED + 1);
        writeJsonl(dir.resolve("feedback_log.jsonl"), feedback.votes(pairs, 48));
        writeJsonl(dir.resolve("ab_judgments.jsonl"), feedback.judgments(pairs, 120));
        writeJsonl(dir.resolve("general_corpus.jsonl"), new GeneralCorpus(SEED + 2).texts(1600).stream()
                .map(t -> Map.<String, Object>of("text", t)).toList());
    }

    private static void writeJsonl(Path file, List<Map<String, Object>> rows) throws IOException {
        writeLines(file, rows.stream().map(r -> {
            try {
                return JSON.writeValueAsBytes(r);
            } catch (IOException e) {
                throw new IllegalStateException("cannot serialize " + r, e);
            }
        }).toList());
    }

    private static void writeLines(Path file, List<byte[]> lines) throws IOException {
        try (OutputStream os = Files.newOutputStream(file)) {
            for (byte[] line : lines) {
                os.write(line);
                os.write('\n');
            }
        }
    }
}
