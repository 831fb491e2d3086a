package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The sequence-classification fields of a config.json, names mirrored: {@code num_labels} (else the size of
 * {@code id2label}, else 2, as transformers' {@code PretrainedConfig}), {@code id2label}, {@code problem_type} and
 * {@code pad_token_id}.
 *
 * @param id2label    each class's name, by index ({@code LABEL_i} where config.json names none)
 * @param problemType the loss the labels call for
 * @param padTokenId  {@code pad_token_id}, empty when config.json has none (decoder classifiers then read a single
 *                    row's last token)
 */
public record ClassifierConfig(List<String> id2label, ProblemType problemType, OptionalLong padTokenId) {

    /** transformers' {@code problem_type}. */
    public enum ProblemType {
        /** One score, mean squared error ({@code "regression"}). */
        REGRESSION,
        /** One class per row, cross-entropy ({@code "single_label_classification"}). */
        SINGLE_LABEL_CLASSIFICATION,
        /** Any number of classes per row, binary cross-entropy ({@code "multi_label_classification"}). */
        MULTI_LABEL_CLASSIFICATION;

        /**
         * The type config.json names, or transformers' rule when it names none: one label is a regression, more
         * are single-label classification (integer labels).
         *
         * @param json       the {@code problem_type} value, null or empty when absent
         * @param numLabels  the number of labels
         * @return the problem type
         */
        public static ProblemType of(String json, int numLabels) {
            if (json == null || json.isEmpty()) {
                return numLabels == 1 ? REGRESSION : SINGLE_LABEL_CLASSIFICATION;
            }
            for (ProblemType t : values()) {
                if (t.name().equalsIgnoreCase(json)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("config.json: unknown problem_type '" + json + "'; expected regression, "
                    + "single_label_classification or multi_label_classification");
        }
    }

    /** Copies the labels and checks that there is at least one. */
    public ClassifierConfig {
        if (id2label.isEmpty()) {
            throw new IllegalArgumentException("a classifier needs at least one label (num_labels >= 1)");
        }
        id2label = List.copyOf(id2label);
    }

    /**
     * Reads the classification fields of a config.json.
     *
     * @param c the parsed config.json
     * @return the fields, with transformers' defaults
     */
    public static ClassifierConfig fromJson(JsonNode c) {
        String at = "config.json";
        JsonNode names = c.path("id2label");
        int n = JsonFields.integer(c, "num_labels", names.isObject() ? names.size() : 2, 1, ConfigLimits.SMALL_TABLE, at);
        List<String> id2label = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            id2label.add(names.path(Integer.toString(i)).asText("LABEL_" + i));
        }
        JsonNode pad = c.path("pad_token_id");
        OptionalLong padId = pad.isIntegralNumber() ? OptionalLong.of(pad.asLong()) : OptionalLong.empty();
        return new ClassifierConfig(id2label, ProblemType.of(c.path("problem_type").asText(""), n), padId);
    }

    /**
     * This config with other class names (the count changes with them), keeping the problem type's rule.
     *
     * @param labels the class names, by index
     * @return the new config
     */
    public ClassifierConfig withLabels(List<String> labels) {
        ProblemType type = problemType == ProblemType.MULTI_LABEL_CLASSIFICATION ? problemType
                : ProblemType.of(null, labels.size());
        return new ClassifierConfig(labels, type, padTokenId);
    }

    /**
     * This config with another loss: {@link ProblemType#MULTI_LABEL_CLASSIFICATION} makes each class an independent
     * yes/no output (binary cross-entropy over a 0/1 label vector per row), as transformers'
     * {@code problem_type="multi_label_classification"}.
     *
     * @param type the problem type
     * @return the new config
     * @throws IllegalArgumentException for a regression over several labels, which has no single target
     */
    public ClassifierConfig withProblemType(ProblemType type) {
        if (type == ProblemType.REGRESSION && numLabels() != 1) {
            throw new IllegalArgumentException("a regression has one output (num_labels 1), but this config has "
                    + numLabels() + " labels " + id2label + ": give one label, or use a classification problem type");
        }
        return new ClassifierConfig(id2label, type, padTokenId);
    }

    /**
     * This config with a padding id (the token by which a decoder classifier finds each row's last real token).
     *
     * @param id the pad id, usually the tokenizer's pad or eos id
     * @return the new config
     */
    public ClassifierConfig withPadTokenId(long id) {
        return new ClassifierConfig(id2label, problemType, OptionalLong.of(id));
    }

    /**
     * The number of classes (1 for a regression).
     *
     * @return the label count
     */
    public int numLabels() {
        return id2label.size();
    }

    /**
     * The index of a class name.
     *
     * @param name a class name
     * @return its index, or -1 when no class has that name
     */
    public int indexOf(String name) {
        return id2label.indexOf(name);
    }
}
