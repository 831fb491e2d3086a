package dev.finetune4j.data.preference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unpaired rows for KTO from feedback: the votes' rater-latest rule shared with {@link PreferenceBuilder}, ties and
 * small margins dropped and counted, pick-the-best sessions as votes, TRL's unpaired JSONL.
 */
class UnpairedBuilderTest {
    private static Feedback.Vote vote(String prompt, String response, boolean up, String rater, int t) {
        return new Feedback.Vote(prompt, response, up, rater, Instant.ofEpochSecond(t));
    }

    /**
     * PreferenceBuilderTest's log: A +1, B +1 (r1 changed a down to an up later; an earlier vote listed after it does
     * not count), C -2; D one up one down, a tie. A and B tie with each other, so the pairs lose them as a pair,
     * while as unpaired rows both are desirable.
     */
    @Test
    void eachResponseIsOneRowByItsNetVote() {
        List<Feedback> log = List.of(
                vote("q", "A", true, "r1", 1), vote("q", "A", true, "r2", 1), vote("q", "A", false, "r3", 1),
                vote("q", "B", true, "r1", 5), vote("q", "B", false, "r1", 1),
                vote("q", "C", false, "r1", 1), vote("q", "C", false, "r2", 1),
                vote("q", "D", true, "r1", 1), vote("q", "D", false, "r2", 1),
                vote("other", "E", false, "r1", 1));
        UnpairedBuilder.Result r = new UnpairedBuilder(1).add(log).build();
        assertEquals(List.of(new UnpairedPreference("other", "E", false, -1), new UnpairedPreference("q", "A", true, 1),
                new UnpairedPreference("q", "B", true, 1), new UnpairedPreference("q", "C", false, -2)), r.rows());
        assertEquals(new UnpairedStats(9, 4, 1, 0, 2, 1), r.perPrompt().get("q"));
        assertEquals(new UnpairedStats(10, 5, 1, 0, 2, 2), r.overall());
        // the same votes as pairs: A-B a tie, dropped; A over C and D, B over C and D, D over C
        assertEquals(5, new PreferenceBuilder(1).add(log).build().pairs().size());
    }

    /**
     * Sessions over (x, y, z) picking x, x and y: x +2 -1 = 1, y -2 +1 = -1, z -3; with a minimum of 2 only z stays;
     * one more up vote on x lifts it to 2.
     */
    @Test
    void pickBestSessionsCountAsAnUpForThePickAndADownForTheOthers() {
        List<Feedback> sessions = List.of(
                new Feedback.PickBest("p", List.of("x", "y", "z"), 0, "r1"),
                new Feedback.PickBest("p", List.of("x", "y", "z", "x"), 0, "r2"),
                new Feedback.PickBest("p", List.of("x", "y", "z"), 1, "r3"));
        UnpairedBuilder.Result r = new UnpairedBuilder(2).add(sessions).build();
        assertEquals(List.of(new UnpairedPreference("p", "z", false, -3)), r.rows());
        assertEquals(new UnpairedStats(3, 3, 0, 2, 0, 1), r.overall());
        UnpairedBuilder.Result withVote = new UnpairedBuilder(2).add(sessions).add(List.of(vote("p", "x", true, "r9", 1))).build();
        assertEquals(List.of(new UnpairedPreference("p", "x", true, 2), new UnpairedPreference("p", "z", false, -3)),
                withVote.rows());
        // one session alone: its pick desirable, the others undesirable
        assertEquals(List.of(new UnpairedPreference("s", "b", true, 1), new UnpairedPreference("s", "a", false, -1)),
                new UnpairedBuilder(1).add(List.of(new Feedback.PickBest("s", List.of("b", "a"), 0, "r"))).build().rows());
    }

    @Test
    void aMinimumBelowOneIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new UnpairedBuilder(0));
        assertEquals("minNetVotes must be >= 1 (0 would keep ties), found 0", e.getMessage());
    }

    @Test
    void exportsTrlsUnpairedFormat(@TempDir Path dir) throws IOException {
        List<UnpairedPreference> rows = List.of(new UnpairedPreference("问", "好答案", true, 2),
                new UnpairedPreference("问", "坏答案", false, -1));
        PreferenceExport.writeUnpaired(rows, dir.resolve("kto.jsonl"));
        List<String> lines = Files.readAllLines(dir.resolve("kto.jsonl"));
        assertEquals(2, lines.size());
        assertTrue(lines.get(0).startsWith("{\"prompt\":\"问\",\"completion\":\"好答案\",\"label\":true"), lines.get(0));
        assertTrue(lines.get(1).startsWith("{\"prompt\":\"问\",\"completion\":\"坏答案\",\"label\":false"), lines.get(1));
    }
}
