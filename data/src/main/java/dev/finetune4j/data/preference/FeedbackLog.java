package dev.finetune4j.data.preference;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.format.JsonObjectLines;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a feedback log (JSONL) into {@link Feedback} events for {@link PreferenceBuilder}. Two line shapes:
 * <ul>
 *   <li>a vote: {@code {"prompt", "response", "vote": "up"|"down", "rater", "time": ISO-8601}};</li>
 *   <li>a pick-the-best session: {@code {"prompt", "candidates": [...], "chosen": index, "rater"}}.</li>
 * </ul>
 * Lines that are not one of these (bad JSON, missing or mistyped fields, invalid UTF-8) are returned as
 * {@link BadLine}s with their line number and reason, never silently skipped.
 *
 * <pre>{@code
 * FeedbackLog.Loaded log = FeedbackLog.read(Path.of("feedback.jsonl"));
 * PreferenceBuilder.Result pairs = new PreferenceBuilder(1).add(log.events()).build();
 * log.quarantined();   // what could not be read, and why
 * }</pre>
 */
public final class FeedbackLog {
    private FeedbackLog() {
    }

    /**
     * What a log held.
     *
     * @param events      the events in file order
     * @param quarantined the lines that were not events
     */
    public record Loaded(List<Feedback> events, List<BadLine> quarantined) {
        /** Copies both lists. */
        public Loaded {
            events = List.copyOf(events);
            quarantined = List.copyOf(quarantined);
        }
    }

    /**
     * Reads every event of {@code jsonl}.
     *
     * @param jsonl the feedback log, one event per line
     * @return the events and the lines that were not events
     * @throws IOException when the file cannot be read
     */
    public static Loaded read(Path jsonl) throws IOException {
        List<Feedback> events = new ArrayList<>();
        List<BadLine> bad = new ArrayList<>();
        String file = jsonl.getFileName().toString();
        try (JsonObjectLines in = JsonObjectLines.open(jsonl)) {
            for (JsonObjectLines.Item item; (item = in.next()) != null; ) {
                switch (parse(item, file)) {
                    case Event e -> events.add(e.feedback());
                    case Bad b -> bad.add(b.badLine());
                }
            }
        }
        return new Loaded(events, bad);
    }

    /** One line of a log, read by {@link #parse}. */
    public sealed interface Line {
    }

    /**
     * A line holding an event.
     *
     * @param line     its 1-based line number
     * @param feedback the event
     */
    public record Event(long line, Feedback feedback) implements Line {
    }

    /**
     * A line that is not an event, with the reason.
     *
     * @param badLine the line's file, number, reason and raw text
     */
    public record Bad(BadLine badLine) implements Line {
    }

    /**
     * One line of a log read elsewhere (a Spark task reads a log this way): the event it holds, or why it is not
     * one, exactly as {@link #read(Path)} decides.
     *
     * @param item a line read by {@link JsonObjectLines}
     * @param file the log's name, for the bad line
     * @return the event or the bad line
     */
    public static Line parse(JsonObjectLines.Item item, String file) {
        return switch (item) {
            case JsonObjectLines.Bad b -> new Bad(b.badLine());
            case JsonObjectLines.Ok ok -> {
                try {
                    yield new Event(ok.line(), event(ok.object()));
                } catch (IllegalArgumentException e) {
                    yield new Bad(new BadLine(file, ok.line(), "wrong field types: " + e.getMessage(), ok.text()));
                }
            }
        };
    }

    private static Feedback event(Map<String, Object> o) {
        if (o.containsKey("candidates")) {
            if (!(o.get("candidates") instanceof List<?> list) || list.stream().anyMatch(c -> !(c instanceof String))) {
                throw new IllegalArgumentException("'candidates' must be a list of strings");
            }
            if (!(o.get("chosen") instanceof Integer chosen)) {
                throw new IllegalArgumentException("'chosen' must be the index of the chosen candidate");
            }
            return new Feedback.PickBest(string(o, "prompt"), list.stream().map(String.class::cast).toList(), chosen,
                    string(o, "rater"));
        }
        String vote = string(o, "vote");
        if (!vote.equals("up") && !vote.equals("down")) {
            throw new IllegalArgumentException("'vote' must be \"up\" or \"down\", found \"" + vote + "\"");
        }
        Instant time;
        try {
            time = Instant.parse(string(o, "time"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'time' must be an ISO-8601 instant such as 2025-03-03T09:05:10Z");
        }
        return new Feedback.Vote(string(o, "prompt"), string(o, "response"), vote.equals("up"), string(o, "rater"),
                time);
    }

    private static String string(Map<String, Object> o, String field) {
        if (!(o.get(field) instanceof String s)) {
            throw new IllegalArgumentException("'" + field + "' must be a string, found "
                    + (o.get(field) == null ? "nothing" : o.get(field).getClass().getSimpleName()));
        }
        return s;
    }
}
