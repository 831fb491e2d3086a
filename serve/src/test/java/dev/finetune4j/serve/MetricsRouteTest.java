package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /metrics}: what the server did, in Prometheus' text format, counted against the answers the clients got
 * (their {@code usage} and {@code finish_reason}).
 */
class MetricsRouteTest {
    /** A sample line: name, labels, value (the text format's grammar, as this server writes it). */
    private static final Pattern SAMPLE = Pattern.compile(
            "(finetune4j_[a-z_]+)\\{(model=\"tiny-chat\"(?:,[a-z_]+=\"[^\"\\\\\\n]*\")*)} (NaN|-?[0-9]+(?:\\.[0-9]+)?(?:E-?[0-9]+)?)");
    private static final Pattern COMMENT = Pattern.compile("# (HELP|TYPE) (finetune4j_[a-z_]+) .+");
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    /** Every sample of a scrape by series ("name{labels}"), after checking each line's syntax and TYPE order. */
    private static Map<String, Double> scrape() throws Exception {
        HttpResponse<String> r = fixture.get("/metrics");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(PrometheusMetrics.CONTENT_TYPE, r.headers().firstValue("Content-Type").orElse(""));
        Map<String, Double> samples = new LinkedHashMap<>();
        Set<String> typed = new HashSet<>();
        for (String line : r.body().split("\n")) {
            Matcher comment = COMMENT.matcher(line);
            Matcher sample = SAMPLE.matcher(line);
            if (comment.matches()) {
                if (comment.group(1).equals("TYPE")) {
                    assertTrue(typed.add(comment.group(2)), "one TYPE line per family: " + line);
                }
            } else {
                assertTrue(sample.matches(), "not a sample line of the text format: '" + line + "'");
                String family = sample.group(1).replaceAll("_(sum|count)$", "");
                assertTrue(typed.contains(family), "a sample before its family's TYPE line: " + line);
                samples.put(sample.group(1) + "{" + sample.group(2) + "}", Double.valueOf(sample.group(3)));
            }
        }
        return samples;
    }

    private static double value(Map<String, Double> samples, String name, String labels) {
        String key = name + "{model=\"tiny-chat\"" + labels + "}";
        assertTrue(samples.containsKey(key), key + " in " + samples.keySet());
        return samples.get(key);
    }

    @Test
    void countersMatchWhatTheClientsWereAnswered() throws Exception {
        Map<String, Double> before = scrape();
        assertEquals(0, value(before, "finetune4j_generation_tokens_total", ""));
        assertTrue(Double.isNaN(value(before, "finetune4j_time_to_first_token_seconds", ",quantile=\"0.5\"")),
                "no observation yet: the quantile is unknown");
        assertEquals(0, value(before, "finetune4j_time_to_first_token_seconds_count", ""));

        String[] requests = {
                "/v1/completions|{\"model\": \"tiny-chat\", \"prompt\": \"Hello there\", \"max_tokens\": 3, \"temperature\": 0}",
                "/v1/completions|{\"model\": \"tiny-chat\", \"prompt\": \"Another prompt\", \"max_tokens\": 5, \"temperature\": 0}",
                "/v1/chat/completions|{\"model\": \"lora\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 4, \"temperature\": 0}"};
        long promptTokens = 0;
        long completionTokens = 0;
        Map<String, Integer> reasons = new HashMap<>();
        for (String request : requests) {
            String[] parts = request.split("\\|", 2);
            HttpResponse<String> r = fixture.post(parts[0], parts[1]);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode answer = ServerFixture.json(r);
            promptTokens += answer.at("/usage/prompt_tokens").asLong();
            completionTokens += answer.at("/usage/completion_tokens").asLong();
            reasons.merge(answer.at("/choices/0/finish_reason").asText(), 1, Integer::sum);
        }
        assertEquals(Map.of("length", 3), reasons, "the tiny model runs to max_tokens on these prompts");

        Map<String, Double> after = scrape();
        assertEquals(3, value(after, "finetune4j_requests_finished_total", ",reason=\"length\""));
        assertEquals(0, value(after, "finetune4j_requests_finished_total", ",reason=\"stop\""));
        assertEquals(0, value(after, "finetune4j_requests_finished_total", ",reason=\"error\""));
        assertEquals(2, value(after, "finetune4j_requests_submitted_total", ",served_model=\"tiny-chat\""));
        assertEquals(1, value(after, "finetune4j_requests_submitted_total", ",served_model=\"lora\""));
        assertEquals(promptTokens, value(after, "finetune4j_prompt_tokens_total", ""));
        assertEquals(completionTokens, value(after, "finetune4j_generation_tokens_total", ""));
        assertEquals(3, value(after, "finetune4j_time_to_first_token_seconds_count", ""));
        assertEquals(completionTokens - 3, value(after, "finetune4j_inter_token_latency_seconds_count", ""),
                "one gap between each two consecutive tokens of a request");
        double median = value(after, "finetune4j_time_to_first_token_seconds", ",quantile=\"0.5\"");
        double p99 = value(after, "finetune4j_time_to_first_token_seconds", ",quantile=\"0.99\"");
        assertTrue(median > 0 && median <= p99, median + " " + p99);
        assertTrue(value(after, "finetune4j_time_to_first_token_seconds_sum", "") >= 2 * median,
                "two of the three first-token times are at least their median");
        assertEquals(0, value(after, "finetune4j_requests_running", ""));
        assertEquals(0, value(after, "finetune4j_requests_waiting", ""));
    }

    @Test
    void otherMethodsAre405() throws Exception {
        ServerFixture.assertError(fixture.delete("/metrics"), 405, "method_not_allowed", null);
    }
}
