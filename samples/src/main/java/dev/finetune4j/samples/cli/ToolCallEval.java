package dev.finetune4j.samples.cli;

import dev.finetune4j.core.generate.tools.ParsedToolCalls;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.eval.ToolCallMetrics;
import dev.finetune4j.eval.ToolCallScore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code eval --tool-calls}' results: predicted assistant turns scored against the expected ones with
 * {@link ToolCallMetrics} (exact match, call-or-answer decision, name and argument precision/recall/F1, invalid
 * arguments), as the JSON map the command prints and writes.
 */
final class ToolCallEval {
    private ToolCallEval() {
    }

    /** The metrics of a predictions file's rows. */
    static Map<String, Object> ofPredictions(List<ToolCallRows.Prediction> rows) {
        return Map.of("metrics", metrics(rows.stream().map(ToolCallRows.Prediction::predicted).toList(),
                rows.stream().map(ToolCallRows.Prediction::expected).toList()));
    }

    /**
     * The model's answers to held-out conversations, read for calls in {@code format} with each row's tools (whose
     * schemas type {@code qwen3_coder}'s text parameters): the answers as assistant messages in OpenAI's shape (usable
     * as a predictions file's {@code prediction}) and their metrics.
     */
    static Map<String, Object> ofAnswers(List<ToolCallRows.HeldOut> rows, List<String> answers, ToolCallFormat format) {
        List<ChatMessage> predicted = new ArrayList<>();
        for (int i = 0; i < answers.size(); i++) {
            predicted.add(assistantTurn(format.withTools(rows.get(i).tools()).parse(answers.get(i))));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("tool_call_format", format.name());
        result.put("predictions", predicted.stream().map(ChatJson::toJson).toList());
        result.put("metrics", metrics(predicted, rows.stream().map(ToolCallRows.HeldOut::expected).toList()));
        return result;
    }

    /** The assistant turn an answer makes: its calls, and the text that is not a call as content. */
    static ChatMessage assistantTurn(ParsedToolCalls parsed) {
        return new ChatMessage("assistant", parsed.content() == null ? "" : parsed.content(), parsed.calls(), null);
    }

    /** {@link ToolCallScore}'s fields in snake case, with the F1s and how many examples expected a call. */
    static Map<String, Object> metrics(List<ChatMessage> predicted, List<ChatMessage> expected) {
        ToolCallScore s = ToolCallMetrics.score(calls(predicted), calls(expected));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("exact_match", s.exactMatch());
        m.put("decision_accuracy", s.decisionAccuracy());
        m.put("name_precision", s.namePrecision());
        m.put("name_recall", s.nameRecall());
        m.put("name_f1", s.nameF1());
        m.put("argument_precision", s.argumentPrecision());
        m.put("argument_recall", s.argumentRecall());
        m.put("argument_f1", s.argumentF1());
        m.put("invalid_arguments", s.invalidArguments());
        m.put("examples", s.count());
        m.put("examples_expecting_calls", (int) expected.stream().filter(ChatMessage::hasToolCalls).count());
        return m;
    }

    private static List<List<ToolCall>> calls(List<ChatMessage> turns) {
        return turns.stream().map(ChatMessage::toolCalls).toList();
    }
}
