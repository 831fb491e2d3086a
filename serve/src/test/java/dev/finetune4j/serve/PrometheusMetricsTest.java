package dev.finetune4j.serve;

import dev.finetune4j.peft.serve.EngineMetrics;
import dev.finetune4j.peft.serve.FinishReason;
import dev.finetune4j.peft.serve.LatencySummary;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The text exposition of hand-made metrics, written out by hand: names, label escaping, units, numbers. */
class PrometheusMetricsTest {
    @Test
    void rendersEveryFamilyInTheTextFormat() {
        Map<String, Long> byAdapter = new TreeMap<>(Map.of("", 4L, "support-v2", 3L));
        EngineMetrics m = new EngineMetrics(6, Map.of(FinishReason.STOP, 5L, FinishReason.LENGTH, 1L), 1, 120, 57, 12.5,
                new LatencySummary(6, 40, 35, 80, 95, 6, 240), LatencySummary.EMPTY, 2, 1, byAdapter, 96, 4096);
        String expected = """
                # HELP finetune4j_requests_finished_total Requests that ended, by finish reason (error: failed).
                # TYPE finetune4j_requests_finished_total counter
                finetune4j_requests_finished_total{model="a\\"b\\\\c\\nd",reason="stop"} 5
                finetune4j_requests_finished_total{model="a\\"b\\\\c\\nd",reason="length"} 1
                finetune4j_requests_finished_total{model="a\\"b\\\\c\\nd",reason="cancelled"} 0
                finetune4j_requests_finished_total{model="a\\"b\\\\c\\nd",reason="timeout"} 0
                finetune4j_requests_finished_total{model="a\\"b\\\\c\\nd",reason="error"} 1
                # HELP finetune4j_requests_submitted_total Requests submitted, by the model they named: the base or an adapter.
                # TYPE finetune4j_requests_submitted_total counter
                finetune4j_requests_submitted_total{model="a\\"b\\\\c\\nd",served_model="a\\"b\\\\c\\nd"} 4
                finetune4j_requests_submitted_total{model="a\\"b\\\\c\\nd",served_model="support-v2"} 3
                # HELP finetune4j_prompt_tokens_total Prompt tokens of the requests that ended or failed.
                # TYPE finetune4j_prompt_tokens_total counter
                finetune4j_prompt_tokens_total{model="a\\"b\\\\c\\nd"} 120
                # HELP finetune4j_generation_tokens_total Tokens generated.
                # TYPE finetune4j_generation_tokens_total counter
                finetune4j_generation_tokens_total{model="a\\"b\\\\c\\nd"} 57
                # HELP finetune4j_generation_tokens_per_second Tokens generated per second over about the last 10 s.
                # TYPE finetune4j_generation_tokens_per_second gauge
                finetune4j_generation_tokens_per_second{model="a\\"b\\\\c\\nd"} 12.5
                # HELP finetune4j_requests_running Requests in the running batch.
                # TYPE finetune4j_requests_running gauge
                finetune4j_requests_running{model="a\\"b\\\\c\\nd"} 1
                # HELP finetune4j_requests_waiting Requests queued for admission.
                # TYPE finetune4j_requests_waiting gauge
                finetune4j_requests_waiting{model="a\\"b\\\\c\\nd"} 2
                # HELP finetune4j_kv_cache_positions_used KV cache positions reserved by running requests.
                # TYPE finetune4j_kv_cache_positions_used gauge
                finetune4j_kv_cache_positions_used{model="a\\"b\\\\c\\nd"} 96
                # HELP finetune4j_kv_cache_positions_budget The KV cache budget in positions.
                # TYPE finetune4j_kv_cache_positions_budget gauge
                finetune4j_kv_cache_positions_budget{model="a\\"b\\\\c\\nd"} 4096
                # HELP finetune4j_time_to_first_token_seconds From a request's submission to its first token.
                # TYPE finetune4j_time_to_first_token_seconds summary
                finetune4j_time_to_first_token_seconds{model="a\\"b\\\\c\\nd",quantile="0.5"} 0.035
                finetune4j_time_to_first_token_seconds{model="a\\"b\\\\c\\nd",quantile="0.9"} 0.08
                finetune4j_time_to_first_token_seconds{model="a\\"b\\\\c\\nd",quantile="0.99"} 0.095
                finetune4j_time_to_first_token_seconds_sum{model="a\\"b\\\\c\\nd"} 0.24
                finetune4j_time_to_first_token_seconds_count{model="a\\"b\\\\c\\nd"} 6
                # HELP finetune4j_inter_token_latency_seconds Between consecutive tokens of one request.
                # TYPE finetune4j_inter_token_latency_seconds summary
                finetune4j_inter_token_latency_seconds{model="a\\"b\\\\c\\nd",quantile="0.5"} NaN
                finetune4j_inter_token_latency_seconds{model="a\\"b\\\\c\\nd",quantile="0.9"} NaN
                finetune4j_inter_token_latency_seconds{model="a\\"b\\\\c\\nd",quantile="0.99"} NaN
                finetune4j_inter_token_latency_seconds_sum{model="a\\"b\\\\c\\nd"} 0
                finetune4j_inter_token_latency_seconds_count{model="a\\"b\\\\c\\nd"} 0
                """;
        assertEquals(expected, PrometheusMetrics.render(m, "a\"b\\c\nd"));
    }
}
