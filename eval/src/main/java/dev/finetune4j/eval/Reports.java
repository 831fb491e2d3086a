package dev.finetune4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes and reads {@link EvalReport}s as JSON (Jackson) and renders the comparison of a candidate with a
 * baseline as one self-contained HTML page ({@link HtmlReport}: inline CSS and SVG, no scripts, no network).
 *
 * <pre>{@code
 * Reports.writeJson(report, Path.of("eval/candidate.json"));
 * Reports.writeHtml(candidate, baseline, gate.evaluate(candidate, baseline), Path.of("eval/report.html"));
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class Reports {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Reports() {
    }

    /**
     * The report as indented JSON.
     *
     * @param report the report to serialize
     * @return the JSON text
     */
    public static String toJson(EvalReport report) {
        try {
            return JSON.writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize report of " + report.model() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses a report written by {@link #toJson}.
     *
     * @param json the JSON text
     * @return the report
     */
    public static EvalReport fromJson(String json) {
        try {
            return JSON.readValue(json, EvalReport.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not an EvalReport JSON document: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Writes the report's JSON to {@code file} (UTF-8, parent folders created).
     *
     * @param report the report to write
     * @param file the target file, replaced if it exists
     */
    public static void writeJson(EvalReport report, Path file) {
        write(file, toJson(report));
    }

    /**
     * Reads a report JSON file.
     *
     * @param file a file written by {@link #writeJson}
     * @return the report
     */
    public static EvalReport readJson(Path file) {
        try {
            return fromJson(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read report " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the HTML comparison page to {@code file}; {@code decision} may be null.
     *
     * @param candidate the report of the model to promote
     * @param baseline the report it is compared with
     * @param decision the gate's decision, or null
     * @param file the target file, replaced if it exists
     */
    public static void writeHtml(EvalReport candidate, EvalReport baseline, GateDecision decision, Path file) {
        write(file, HtmlReport.render(candidate, baseline, decision));
    }

    /**
     * Writes UTF-8. NOTE: {@code Files.writeString} refuses a lone surrogate (a sample answer cut with
     * {@code substring} inside an emoji), so such a character is written as U+FFFD, as browsers and JSON
     * parsers show it, instead of the whole report failing.
     */
    private static void write(Path file, String content) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, withoutLoneSurrogates(content), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static String withoutLoneSurrogates(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean paired = Character.isHighSurrogate(c) ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                    : !Character.isLowSurrogate(c) || (i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
            if (!paired && b == null) {
                b = new StringBuilder(s.length()).append(s, 0, i);
            }
            if (b != null) {
                b.append(paired ? c : '\uFFFD');
            }
        }
        return b == null ? s : b.toString();
    }
}
