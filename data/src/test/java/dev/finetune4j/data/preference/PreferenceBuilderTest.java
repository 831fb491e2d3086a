package dev.finetune4j.data.preference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PreferenceBuilderTest {
    private static Feedback.Vote vote(String response, boolean up, String rater, int t) {
        return new Feedback.Vote("怎么退货？", response, up, rater, Instant.ofEpochSecond(t));
    }

    @Test
    void thumbsVotesAggregateByMajorityWithLatestVotePerRater() {
        List<Feedback> log = List.of(
                vote("A", true, "r1", 1), vote("A", true, "r2", 1), vote("A", false, "r3", 1),  // A: +1
                vote("B", false, "r1", 1), vote("B", true, "r1", 5),                          // B: r1 changed: +1
                vote("C", false, "r1", 1), vote("C", false, "r2", 1));                        // C: -2
        PreferenceBuilder.Result r = new PreferenceBuilder(1).add(log).build();
        // A-B tie (1 vs 1) dropped; A over C by 3; B over C by 3
        assertEquals(List.of(new PreferencePair("怎么退货？", "A", "C", 3), new PreferencePair("怎么退货？", "B", "C", 3)),
                r.pairs());
        assertEquals(new PreferenceStats(7, 3, 1, 0, 2), r.overall());
    }

    @Test
    void pickBestSessionsMajorityTiesAndMargin() {
        List<Feedback> log = List.of(
                new Feedback.PickBest("p", List.of("x", "y", "z"), 0, "r1"),
                new Feedback.PickBest("p", List.of("x", "y", "z"), 0, "r2"),
                new Feedback.PickBest("p", List.of("x", "y", "z"), 1, "r3"));
        // x>y: 2 wins, 1 loss -> +1; x>z: +2; y>z: +1
        PreferenceBuilder.Result r = new PreferenceBuilder(2).add(log).build();
        assertEquals(List.of(new PreferencePair("p", "x", "z", 2)), r.pairs());
        assertEquals(new PreferenceStats(3, 3, 0, 2, 1), r.perPrompt().get("p"));
    }

    @Test
    void exportsTrlAndMessages(@TempDir Path dir) throws IOException {
        List<PreferencePair> pairs = List.of(new PreferencePair("问", "好答案", "坏答案", 2));
        PreferenceExport.write(pairs, dir.resolve("trl.jsonl"), PreferenceExport.Shape.TRL);
        PreferenceExport.write(pairs, dir.resolve("msg.jsonl"), PreferenceExport.Shape.MESSAGES);
        assertTrue(Files.readString(dir.resolve("trl.jsonl"))
                .startsWith("{\"prompt\":\"问\",\"chosen\":\"好答案\",\"rejected\":\"坏答案\""));
        String msg = Files.readString(dir.resolve("msg.jsonl"));
        assertTrue(msg.contains("\"chosen\":[{\"role\":\"user\",\"content\":\"问\"},{\"role\":\"assistant\",\"content\":\"好答案\"}]"),
                msg);
    }
}
