package dev.finetune4j.serve;

import dev.finetune4j.peft.serve.EngineMetrics;
import dev.finetune4j.peft.serve.FinishReason;
import dev.finetune4j.peft.serve.LatencySummary;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /metrics}: the engine's {@link EngineMetrics} in Prometheus' text exposition format (version 0.0.4), the
 * format every Prometheus-compatible scraper reads. Counters run from the engine's start; gauges are now; the two
 * latencies are summaries whose quantiles cover the engine's recent window and whose {@code _count} and {@code _sum}
 * cover every observation. Every series carries the served base model's name as the label {@code model}.
 */
final class PrometheusMetrics {
    /** The media type of the text format, as scrapers expect it. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String PREFIX = "finetune4j_";

    private final StringBuilder out = new StringBuilder(4096);
    private final String modelLabel;

    private PrometheusMetrics(String model) {
        this.modelLabel = "model=\"" + escapeLabel(model) + "\"";
    }

    /**
     * The exposition of {@code m} for the server of base model {@code model}.
     *
     * @param m     a snapshot of the engine's metrics
     * @param model the served base model's name
     * @return the text, one sample a line, each family introduced by its HELP and TYPE lines
     */
    static String render(EngineMetrics m, String model) {
        PrometheusMetrics p = new PrometheusMetrics(model);
        p.family("requests_finished_total", "counter", "Requests that ended, by finish reason (error: failed).");
        for (Map.Entry<FinishReason, Long> e : m.completedByReason().entrySet()) {
            p.sample("requests_finished_total", "reason", e.getKey().name().toLowerCase(Locale.ROOT), e.getValue());
        }
        p.sample("requests_finished_total", "reason", "error", m.failedRequests());
        p.family("requests_submitted_total", "counter", "Requests submitted, by the model they named: the base or an adapter.");
        for (Map.Entry<String, Long> e : new TreeMap<>(m.requestsByAdapter()).entrySet()) { // the base ("") first
            p.sample("requests_submitted_total", "served_model", e.getKey().isEmpty() ? model : e.getKey(), e.getValue());
        }
        p.single("prompt_tokens_total", "counter", "Prompt tokens of the requests that ended or failed.", m.promptTokens());
        p.single("generation_tokens_total", "counter", "Tokens generated.", m.generatedTokens());
        p.single("generation_tokens_per_second", "gauge", "Tokens generated per second over about the last 10 s.",
                m.tokensPerSecond());
        p.single("requests_running", "gauge", "Requests in the running batch.", m.runningRequests());
        p.single("requests_waiting", "gauge", "Requests queued for admission.", m.queueDepth());
        p.single("kv_cache_positions_used", "gauge", "KV cache positions reserved by running requests.",
                m.kvCacheTokensInUse());
        p.single("kv_cache_positions_budget", "gauge", "The KV cache budget in positions.", m.kvCacheTokensBudget());
        p.summary("time_to_first_token_seconds", "From a request's submission to its first token.",
                m.timeToFirstToken());
        p.summary("inter_token_latency_seconds", "Between consecutive tokens of one request.", m.interTokenLatency());
        return p.out.toString();
    }

    private void family(String name, String type, String help) {
        out.append("# HELP ").append(PREFIX).append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(PREFIX).append(name).append(' ').append(type).append('\n');
    }

    private void single(String name, String type, String help, double value) {
        family(name, type, help);
        line(name, "", value);
    }

    private void sample(String name, String label, String labelValue, double value) {
        line(name, "," + label + "=\"" + escapeLabel(labelValue) + "\"", value);
    }

    private void summary(String name, String help, LatencySummary s) {
        family(name, "summary", help);
        double[][] quantiles = {{0.5, s.p50Millis()}, {0.9, s.p90Millis()}, {0.99, s.p99Millis()}};
        for (double[] q : quantiles) {
            // NOTE: with no observation in the window a quantile is unknown, which Prometheus writes as NaN (not 0)
            line(name, ",quantile=\"" + q[0] + "\"", s.count() == 0 ? Double.NaN : q[1] / 1e3);
        }
        line(name + "_sum", "", s.totalMillis() / 1e3);
        line(name + "_count", "", s.totalCount());
    }

    private void line(String name, String moreLabels, double value) {
        out.append(PREFIX).append(name).append('{').append(modelLabel).append(moreLabels).append("} ")
                .append(number(value)).append('\n');
    }

    /** Go's float formatting as Prometheus reads it: integers without a fraction, NaN and infinities spelled out. */
    private static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /** A label value as the text format requires: backslash, double quote and line feed escaped. */
    static String escapeLabel(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
