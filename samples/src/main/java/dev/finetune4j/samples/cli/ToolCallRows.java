package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.peft.train.SftExample;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The rows {@code eval --tool-calls} reads, each bad one named by file and line: predictions files (a predicted and
 * a reference assistant message in OpenAI's shape, read by core's {@link ChatJson}) and held-out conversations (as
 * {@code train} reads them, through {@link ConversationRow}, the last message being the expected assistant turn).
 */
final class ToolCallRows {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREDICTION_SHAPE = "every line of a --tool-calls --predictions file needs 'prediction' "
            + "and 'reference' assistant messages in OpenAI's shape, e.g. {\"prediction\": {\"role\": \"assistant\", "
            + "\"content\": null, \"tool_calls\": [...]}, \"reference\": {\"role\": \"assistant\", \"content\": \"...\"}}";

    private ToolCallRows() {
    }

    /**
     * A predicted and the expected assistant turn.
     *
     * @param predicted what the model said
     * @param expected  what it should have said
     */
    record Prediction(ChatMessage predicted, ChatMessage expected) {
    }

    /**
     * A held-out conversation.
     *
     * @param context  the turns the model answers
     * @param tools    the functions it may call
     * @param expected the assistant turn it should write
     * @param line     the row's line in its file
     */
    record HeldOut(List<ChatMessage> context, List<ToolDefinition> tools, ChatMessage expected, long line) {
    }

    /** The rows of a predictions file. */
    static List<Prediction> predictions(Path file) {
        List<Prediction> out = new ArrayList<>();
        for (JsonObjectLines.Ok row : JsonlFile.readRecords(file, "fix or remove that line")) {
            ChatMessage prediction = assistantTurn(row, "prediction", file);
            ChatMessage reference = assistantTurn(row, "reference", file);
            requireObjectArguments(reference, file, row.line());
            out.add(new Prediction(prediction, reference));
        }
        return out;
    }

    /** The rows of a conversations file, checked before a model loads. */
    static List<HeldOut> conversations(Path file) {
        List<HeldOut> out = new ArrayList<>();
        for (JsonObjectLines.Ok row : JsonlFile.readRecords(file, "fix or remove that line")) {
            if (!ConversationRow.isConversation(row.object())) {
                throw bad(file, row.line(), "not a conversation (fields " + row.object().keySet() + "); every row of a "
                        + "--tool-calls --data file needs messages (OpenAI, with optional tools) or conversations "
                        + "(ShareGPT), ending with the expected assistant turn");
            }
            SftExample.Chat chat;
            try {
                chat = ConversationRow.read(row.object());
            } catch (IllegalArgumentException e) {
                throw bad(file, row.line(), e.getMessage());
            }
            List<ChatMessage> turns = chat.messages();
            ChatMessage last = turns.getLast();
            if (!last.role().equals("assistant")) {
                throw bad(file, row.line(), "the last message is a " + last.role() + " turn, not the expected assistant "
                        + "turn; end every conversation with the assistant turn the model should write (calls or an answer)");
            }
            if (turns.size() == 1) {
                throw bad(file, row.line(), "the conversation is only the expected assistant turn; put the turns the "
                        + "model answers (at least a user message) before it");
            }
            requireObjectArguments(last, file, row.line());
            out.add(new HeldOut(turns.subList(0, turns.size() - 1), chat.tools(), last, row.line()));
        }
        return out;
    }

    /** Each conversation laid out by the chat template with its tools and the generation prompt, as token ids. */
    static List<long[]> prompts(List<HeldOut> rows, Tokenizer tok, Path file) {
        List<long[]> out = new ArrayList<>(rows.size());
        for (HeldOut row : rows) {
            try {
                out.add(tok.encode(tok.applyChatTemplate(row.context(), row.tools(), true)));
            } catch (IllegalArgumentException e) {
                throw bad(file, row.line(), e.getMessage());
            }
        }
        return out;
    }

    private static ChatMessage assistantTurn(JsonObjectLines.Ok row, String field, Path file) {
        if (!(row.object().get(field) instanceof Map<?, ?> object)) {
            throw bad(file, row.line(), "no object field '" + field + "' (fields: " + List.copyOf(row.object().keySet())
                    + "); " + PREDICTION_SHAPE);
        }
        ChatMessage m;
        try {
            m = ChatJson.message(JSON.valueToTree(object), field);
        } catch (IllegalArgumentException e) {
            throw bad(file, row.line(), e.getMessage());
        }
        if (!m.role().equals("assistant")) {
            throw bad(file, row.line(), field + ".role is " + m.role() + "; " + PREDICTION_SHAPE);
        }
        return m;
    }

    /** Expected calls need object arguments to be scored against (a predicted call's bad arguments are counted). */
    private static void requireObjectArguments(ChatMessage expected, Path file, long line) {
        for (ToolCall call : expected.toolCalls()) {
            JsonNode arguments;
            try {
                arguments = JSON.readTree(call.arguments());
            } catch (JacksonException e) {
                arguments = null;
            }
            if (arguments == null || !arguments.isObject()) {
                throw bad(file, line, "the expected call of " + call.name() + " has arguments that are not a JSON "
                        + "object: " + call.arguments() + "; give them as an object or as the JSON text of one");
            }
        }
    }

    private static BadInputException bad(Path file, long line, String problem) {
        return new BadInputException(file + " line " + line + ": " + problem);
    }
}
