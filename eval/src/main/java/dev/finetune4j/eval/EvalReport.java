package dev.finetune4j.eval;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The evaluation results of one model: named metric values, optional confidence intervals, an optional
 * training loss curve and free-form metadata. Serialized by {@link Reports} to JSON and HTML.
 *
 * <pre>{@code
 * EvalReport r = EvalReport.builder("candidate-lora-r16")
 *         .metric("bleu", bleu.score()).metric("rougeL", rouge.get("rougeL").fmeasure())
 *         .interval("drs", drs.low(), drs.high()).lossCurve(steps, losses).meta("adapter", "out/lora").build();
 * }</pre>
 *
 * @param model     the model's name
 * @param metrics   metric name to value, in insertion order
 * @param intervals metric name to its 95% interval {@code [low, high]}
 * @param lossCurve training loss per step (empty when not given)
 * @param metadata  free-form key/value pairs (dataset, commit, adapter path...)
 */
public record EvalReport(String model, Map<String, Double> metrics, Map<String, List<Double>> intervals,
                         List<LossPoint> lossCurve, Map<String, String> metadata) {
    /**
     * Validates and copies; null maps and lists are empty. A null name, metadata value or value of
     * {@code metrics} fails here, not later in the HTML or JSON writer or the gate, and so does an interval that
     * is not two numbers (a hand-edited JSON file).
     */
    public EvalReport {
        Objects.requireNonNull(model, "model");
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics == null ? Map.of() : metrics));
        intervals = Collections.unmodifiableMap(new LinkedHashMap<>(intervals == null ? Map.of() : intervals));
        lossCurve = List.copyOf(lossCurve == null ? List.of() : lossCurve);
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata == null ? Map.of() : metadata));
        metrics.forEach((name, value) -> {
            if (name == null || value == null) {
                throw new IllegalArgumentException("report of " + model + ": metric " + name + " has "
                        + (name == null ? "no name" : "a null value") + "; every metric needs a name and a number"
                        + " (NaN for one that could not be measured)");
            }
        });
        intervals.forEach((name, iv) -> {
            if (name == null || iv == null || iv.size() != 2 || iv.stream().anyMatch(Objects::isNull)) {
                throw new IllegalArgumentException("report of " + model + ": interval of metric " + name + " is " + iv
                        + "; an interval is a named [low, high] pair of numbers");
            }
        });
        metadata.forEach((key, value) -> {
            if (key == null || value == null) {
                throw new IllegalArgumentException("report of " + model + ": metadata " + key + " = " + value
                        + " is null; use \"\" for an empty value");
            }
        });
    }

    /**
     * One point of a training loss curve.
     *
     * @param step optimizer step
     * @param loss training loss at that step
     */
    public record LossPoint(long step, double loss) {
    }

    /**
     * A builder for the model {@code model}.
     *
     * @param model the name of the evaluated model or checkpoint
     * @return a new, empty builder
     */
    public static Builder builder(String model) {
        return new Builder(model);
    }

    /** Builder of {@link EvalReport}. */
    public static final class Builder {
        private final String model;
        private final Map<String, Double> metrics = new LinkedHashMap<>();
        private final Map<String, List<Double>> intervals = new LinkedHashMap<>();
        private final List<LossPoint> lossCurve = new java.util.ArrayList<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        private Builder(String model) {
            this.model = model;
        }

        /**
         * Adds a metric value.
         *
         * @param name the metric's name, as gate rules refer to it
         * @param value the metric's value
         * @return this builder
         */
        public Builder metric(String name, double value) {
            metrics.put(name, value);
            return this;
        }

        /**
         * Adds the 95% interval of a metric.
         *
         * @param name the metric's name
         * @param low lower bound of the interval
         * @param high upper bound of the interval
         * @return this builder
         */
        public Builder interval(String name, double low, double high) {
            intervals.put(name, List.of(low, high));
            return this;
        }

        /**
         * Adds one loss-curve point.
         *
         * @param step the optimizer step
         * @param loss the training loss at that step
         * @return this builder
         */
        public Builder loss(long step, double loss) {
            lossCurve.add(new LossPoint(step, loss));
            return this;
        }

        /**
         * Adds a metadata entry.
         *
         * @param key the entry's name (dataset, commit, seed...)
         * @param value the entry's value
         * @return this builder
         */
        public Builder meta(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        /**
         * Builds the immutable report.
         *
         * @return the report with the entries added so far
         */
        public EvalReport build() {
            return new EvalReport(model, metrics, intervals, lossCurve, metadata);
        }
    }
}
