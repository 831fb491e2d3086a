package dev.finetune4j.samples.quickstart.data;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Simulated production feedback on the support assistant: thumbs up/down votes on responses (for preference
 * pairs), and pairwise judgments of a candidate assistant (A) against the current one (B) for the A/B statistics.
 * A good response is the catalog's answer; a bad one is another intent's answer or an evasive reply. Raters
 * mostly agree with that, sometimes not, and sometimes change their vote later (the latest vote counts).
 */
final class FeedbackLogs {
    private static final List<String> EVASIVE_EN = List.of("Please contact customer service.",
            "I am not sure, please check the website.", "Sorry, I cannot help with that.");
    private static final List<String> EVASIVE_ZH = List.of("请联系客服。", "不清楚，请查看官网。", "抱歉，这个问题我无法回答。");
    private static final Instant START = Instant.parse("2025-03-03T09:00:00Z");

    private final SplittableRandom random;

    FeedbackLogs(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Vote events {@code {prompt, response, vote: up|down, rater, time}} over {@code prompts} of the pairs. */
    List<Map<String, Object>> votes(List<String[]> pairs, int prompts) {
        List<Map<String, Object>> events = new ArrayList<>();
        long seconds = 0;
        for (int i = 0; i < prompts; i++) {
            String[] p = pairs.get(random.nextInt(pairs.size()));
            String bad = badAnswer(pairs, p);
            for (int r = 1; r <= 3; r++) {
                String rater = "rater-" + ((i + r) % 6 + 1);
                seconds += 30 + random.nextInt(600);
                events.add(vote(p[2], p[3], random.nextDouble() < 0.9, rater, seconds));
                seconds += 30 + random.nextInt(600);
                events.add(vote(p[2], bad, random.nextDouble() < 0.12, rater, seconds));
                if (random.nextInt(12) == 0) { // second thoughts: a later vote replaces the first
                    seconds += 3600;
                    events.add(vote(p[2], bad, false, rater, seconds));
                }
            }
        }
        return events;
    }

    /** Pairwise judgments {@code {prompt, a, b, winner: A|B|tie, judge}}: A the tuned style, B the generic one. */
    List<Map<String, Object>> judgments(List<String[]> pairs, int count) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String[] p = pairs.get(random.nextInt(pairs.size()));
            double u = random.nextDouble();
            String winner = u < 0.66 ? "A" : u < 0.84 ? "B" : "tie";
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("prompt", p[2]);
            m.put("a", p[3]);
            m.put("b", badAnswer(pairs, p));
            m.put("winner", winner);
            m.put("judge", "judge-" + (1 + random.nextInt(4)));
            out.add(m);
        }
        return out;
    }

    private String badAnswer(List<String[]> pairs, String[] p) {
        if (random.nextBoolean()) {
            List<String> evasive = p[1].equals("en") ? EVASIVE_EN : EVASIVE_ZH;
            return evasive.get(random.nextInt(evasive.size()));
        }
        while (true) {
            String[] other = pairs.get(random.nextInt(pairs.size()));
            if (other[1].equals(p[1]) && !other[0].equals(p[0])) {
                return other[3];
            }
        }
    }

    private static Map<String, Object> vote(String prompt, String response, boolean up, String rater, long seconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt", prompt);
        m.put("response", response);
        m.put("vote", up ? "up" : "down");
        m.put("rater", rater);
        m.put("time", START.plusSeconds(seconds).toString());
        return m;
    }
}
