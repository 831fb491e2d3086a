package dev.finetune4j.data.preference;

import dev.finetune4j.data.format.BadLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FeedbackLogTest {
    @TempDir
    Path dir;

    @Test
    void readsVotesAndPicksAndQuarantinesTheRest() throws IOException {
        Path log = dir.resolve("feedback.jsonl");
        Files.writeString(log, """
                {"prompt":"p","response":"r1","vote":"up","rater":"a","time":"2025-03-03T09:05:10Z"}
                {"prompt":"p","candidates":["x","y"],"chosen":1,"rater":"b"}

                {"prompt":"p","response":"r1","vote":"maybe","rater":"a","time":"2025-03-03T09:05:10Z"}
                {"prompt":"p","response":"r1","vote":"up","rater":"a","time":"yesterday"}
                {"prompt":"p","candidates":["x"],"chosen":3,"rater":"b"}
                null
                {"prompt":"p","response":7,"vote":"down","rater":"a","time":"2025-03-03T09:05:10Z"}
                """);
        FeedbackLog.Loaded got = FeedbackLog.read(log);
        assertEquals(List.of(new Feedback.Vote("p", "r1", true, "a", Instant.parse("2025-03-03T09:05:10Z")),
                new Feedback.PickBest("p", List.of("x", "y"), 1, "b")), got.events());
        assertEquals(List.of(4L, 5L, 6L, 7L, 8L), got.quarantined().stream().map(BadLine::line).toList());
        assertEquals("wrong field types: 'vote' must be \"up\" or \"down\", found \"maybe\"",
                got.quarantined().getFirst().reason());
        assertEquals("wrong field types: 'response' must be a string, found Integer",
                got.quarantined().getLast().reason());
    }
}
