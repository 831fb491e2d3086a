package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.peft.serve.CompletionRequest;

import java.util.List;

/**
 * What {@code /v1/completions} and {@code /v1/chat/completions} answer differently: names, how {@code logprobs} is
 * asked for and written, and the shape of a choice. The flow around them (validation, engine requests, streaming) is
 * shared in {@link CompletionEndpoint}.
 */
sealed interface ResponseShape permits ResponseShape.Text, ResponseShape.Chat {

    /** The prefix of the response's {@code id}. */
    String idPrefix();

    /**
     * How many alternatives per token the request's {@code logprobs} fields ask for.
     *
     * @return {@link CompletionRequest#NO_LOGPROBS}, or 0 to the route's limit
     * @throws ApiException 400 for values or combinations the route does not take
     */
    int topLogprobs(JsonNode body);

    /**
     * A choice's {@code logprobs} object for some of its tokens.
     *
     * @param json   the request's writer
     * @param choice the choice's index
     * @param tokens the tokens' log-probabilities, in order
     */
    ObjectNode logprobs(LogprobsJson json, int choice, List<TokenLogprobs> tokens);

    /**
     * The response's {@code object}.
     *
     * @param chunk for a streamed event
     */
    String object(boolean chunk);

    /**
     * The choice that opens a stream, or null when a stream starts with its first text.
     *
     * @param index the choice's index
     */
    ObjectNode openingChoice(int index);

    /**
     * A streamed choice carrying new text.
     *
     * @param index    the choice's index
     * @param text     the text
     * @param tokens   the generated ids behind it
     * @param logprobs their {@link #logprobs}, or null when the request asks for none
     */
    ObjectNode pieceChoice(int index, String text, long[] tokens, ObjectNode logprobs);

    /**
     * A streamed choice carrying new thinking ({@link ReasoningSplitter}).
     *
     * @param index    the choice's index
     * @param text     the thinking
     * @param logprobs the {@link #logprobs} of the tokens behind it, or null when the request asks for none
     * @throws IllegalStateException on a route that does not split thinking
     */
    ObjectNode reasoningPieceChoice(int index, String text, ObjectNode logprobs);

    /**
     * A streamed choice that ends it.
     *
     * @param index        the choice's index
     * @param finish       why generation ended
     */
    ObjectNode finishChoice(int index, ChoiceFinish finish);

    /**
     * A streamed choice announcing a tool call: its index, id, type and name, with {@code ""} arguments.
     *
     * @param index     the choice's index
     * @param callIndex the call's position among the choice's calls
     * @param id        the call's id
     * @param name      the function's name
     * @param logprobs  the {@link #logprobs} of the tokens behind it, or null when the request asks for none
     * @throws IllegalStateException on a route without tools
     */
    ObjectNode toolCallStartChoice(int index, int callIndex, String id, String name, ObjectNode logprobs);

    /**
     * A streamed choice carrying the next piece of an announced call's arguments, which clients append.
     *
     * @param index     the choice's index
     * @param callIndex the call's position among the choice's calls
     * @param arguments the piece
     * @param logprobs  the {@link #logprobs} of the tokens behind it, or null when the request asks for none
     * @throws IllegalStateException on a route without tools
     */
    ObjectNode toolCallArgumentsChoice(int index, int callIndex, String arguments, ObjectNode logprobs);

    /**
     * A choice of a whole (not streamed) response.
     *
     * @param index        the choice's index
     * @param text         the generated text that is neither thinking nor a call
     * @param reasoning    the thinking ({@link ReasoningSplitter}); empty when there is none
     * @param calls        the tool calls read from the output; empty on a route without tools
     * @param tokens       the generated ids
     * @param logprobs     their {@link #logprobs}, or null when the request asks for none
     * @param finish       why generation ended
     */
    ObjectNode wholeChoice(int index, String text, String reasoning, List<ToolCall> calls, long[] tokens,
                           ObjectNode logprobs, ChoiceFinish finish);

    /**
     * {@code text_completion}: choices carry {@code text}, and the generated ids as the extension {@code token_ids};
     * {@code logprobs} is the legacy API's integer (0 to 5 alternatives per token).
     */
    record Text() implements ResponseShape {
        /** The legacy Completions API's limit on {@code logprobs}. */
        static final int MAX_LOGPROBS = 5;

        @Override
        public String idPrefix() {
            return "cmpl-";
        }

        @Override
        public int topLogprobs(JsonNode body) {
            if (JsonFields.present(body, "top_logprobs")) {
                throw ApiException.invalid("top_logprobs", "'top_logprobs' belongs to /v1/chat/completions; on "
                        + "/v1/completions 'logprobs' itself is the number of alternatives per token (0 to " + MAX_LOGPROBS + ")");
            }
            return (int) JsonFields.integer(body, "logprobs", CompletionRequest.NO_LOGPROBS, 0, MAX_LOGPROBS);
        }

        @Override
        public ObjectNode logprobs(LogprobsJson json, int choice, List<TokenLogprobs> tokens) {
            return json.text(choice, tokens);
        }

        @Override
        public String object(boolean chunk) {
            return "text_completion";
        }

        @Override
        public ObjectNode openingChoice(int index) {
            return null;
        }

        @Override
        public ObjectNode pieceChoice(int index, String text, long[] tokens, ObjectNode logprobs) {
            return choice(index, text, tokens, logprobs, null);
        }

        @Override
        public ObjectNode reasoningPieceChoice(int index, String text, ObjectNode logprobs) {
            throw new IllegalStateException("text completions return the text as generated, thinking included");
        }

        @Override
        public ObjectNode finishChoice(int index, ChoiceFinish finish) {
            return choice(index, "", new long[0], null, finish);
        }

        @Override
        public ObjectNode toolCallStartChoice(int index, int callIndex, String id, String name, ObjectNode logprobs) {
            throw new IllegalStateException("text completions take no tools");
        }

        @Override
        public ObjectNode toolCallArgumentsChoice(int index, int callIndex, String arguments, ObjectNode logprobs) {
            throw new IllegalStateException("text completions take no tools");
        }

        @Override
        public ObjectNode wholeChoice(int index, String text, String reasoning, List<ToolCall> calls, long[] tokens,
                                      ObjectNode logprobs, ChoiceFinish finish) {
            if (!calls.isEmpty() || !reasoning.isEmpty()) {
                throw new IllegalStateException("text completions take no tools and return thinking as text");
            }
            return choice(index, text, tokens, logprobs, finish);
        }

        private static ObjectNode choice(int index, String text, long[] tokens, ObjectNode logprobs, ChoiceFinish finish) {
            ObjectNode c = OpenAiJson.MAPPER.createObjectNode();
            c.put("index", index);
            c.put("text", text);
            putLogprobs(c, logprobs);
            ChoiceFinish.write(c, finish);
            var ids = c.putArray("token_ids");
            for (long t : tokens) {
                ids.add(t);
            }
            return c;
        }
    }

    /**
     * {@code chat.completion}: choices carry an assistant {@code message}, stream chunks a {@code delta};
     * {@code logprobs} is a boolean and {@code top_logprobs} (0 to 20) the alternatives per token.
     */
    record Chat() implements ResponseShape {
        /** The field thinking goes in, in messages and deltas. */
        private static final String REASONING = "reasoning_content";

        @Override
        public String idPrefix() {
            return "chatcmpl-";
        }

        @Override
        public int topLogprobs(JsonNode body) {
            boolean logprobs = JsonFields.bool(body, "logprobs", false);
            int top = (int) JsonFields.integer(body, "top_logprobs", 0, 0, TokenLogprobs.MAX_TOP);
            if (!logprobs && top > 0) {
                throw ApiException.invalid("top_logprobs", "'top_logprobs' needs \"logprobs\": true (it lists "
                        + "alternatives to the log-probability of each token, which 'logprobs' asks for)");
            }
            return logprobs ? top : CompletionRequest.NO_LOGPROBS;
        }

        @Override
        public ObjectNode logprobs(LogprobsJson json, int choice, List<TokenLogprobs> tokens) {
            return json.chat(tokens);
        }

        @Override
        public String object(boolean chunk) {
            return chunk ? "chat.completion.chunk" : "chat.completion";
        }

        @Override
        public ObjectNode openingChoice(int index) {
            ObjectNode delta = OpenAiJson.MAPPER.createObjectNode().put("role", "assistant").put("content", "");
            return chunkChoice(index, delta, null, null);
        }

        @Override
        public ObjectNode pieceChoice(int index, String text, long[] tokens, ObjectNode logprobs) {
            return chunkChoice(index, OpenAiJson.MAPPER.createObjectNode().put("content", text), logprobs, null);
        }

        /** {@inheritDoc} As {@code delta.reasoning_content}, DeepSeek's and vLLM's field. */
        @Override
        public ObjectNode reasoningPieceChoice(int index, String text, ObjectNode logprobs) {
            return chunkChoice(index, OpenAiJson.MAPPER.createObjectNode().put(REASONING, text), logprobs, null);
        }

        @Override
        public ObjectNode finishChoice(int index, ChoiceFinish finish) {
            return chunkChoice(index, OpenAiJson.MAPPER.createObjectNode(), null, finish);
        }

        @Override
        public ObjectNode toolCallStartChoice(int index, int callIndex, String id, String name, ObjectNode logprobs) {
            ObjectNode call = OpenAiJson.MAPPER.createObjectNode().put("index", callIndex).put("id", id).put("type", "function");
            call.putObject("function").put("name", name).put("arguments", "");
            return toolCallDelta(index, call, logprobs);
        }

        @Override
        public ObjectNode toolCallArgumentsChoice(int index, int callIndex, String arguments, ObjectNode logprobs) {
            ObjectNode call = OpenAiJson.MAPPER.createObjectNode().put("index", callIndex);
            call.putObject("function").put("arguments", arguments);
            return toolCallDelta(index, call, logprobs);
        }

        private static ObjectNode toolCallDelta(int index, ObjectNode call, ObjectNode logprobs) {
            ObjectNode delta = OpenAiJson.MAPPER.createObjectNode();
            delta.putArray("tool_calls").add(call);
            return chunkChoice(index, delta, logprobs, null);
        }

        /**
         * {@inheritDoc} With calls, {@code content} is the text before them, or null when that is blank (as OpenAI
         * answers a call without words), and {@code tool_calls} lists them. Thinking is {@code reasoning_content},
         * absent when there is none; after thinking, an empty answer is a null {@code content} (as vLLM answers
         * thinking cut by {@code max_tokens}).
         */
        @Override
        public ObjectNode wholeChoice(int index, String text, String reasoning, List<ToolCall> calls, long[] tokens,
                                      ObjectNode logprobs, ChoiceFinish finish) {
            ObjectNode c = OpenAiJson.MAPPER.createObjectNode();
            c.put("index", index);
            boolean noContent = calls.isEmpty() ? text.isEmpty() && !reasoning.isEmpty() : text.isBlank();
            ObjectNode message = c.putObject("message").put("role", "assistant").put("content", noContent ? null : text);
            if (!reasoning.isEmpty()) {
                message.put(REASONING, reasoning);
            }
            message.putNull("refusal");
            if (!calls.isEmpty()) {
                message.set("tool_calls", toolCalls(calls));
            }
            putLogprobs(c, logprobs);
            ChoiceFinish.write(c, finish);
            return c;
        }

        /** Calls in OpenAI's shape, written by core's chat JSON writer. */
        private static ArrayNode toolCalls(List<ToolCall> calls) {
            return (ArrayNode) ChatJson.toJson(new ChatMessage("assistant", "", calls, null)).get("tool_calls");
        }

        private static ObjectNode chunkChoice(int index, ObjectNode delta, ObjectNode logprobs, ChoiceFinish finish) {
            ObjectNode c = OpenAiJson.MAPPER.createObjectNode();
            c.put("index", index);
            c.set("delta", delta);
            putLogprobs(c, logprobs);
            ChoiceFinish.write(c, finish);
            return c;
        }
    }

    /** {@code "logprobs"}: the object, or {@code null} when the request asks for none. */
    private static void putLogprobs(ObjectNode choice, ObjectNode logprobs) {
        if (logprobs == null) {
            choice.putNull("logprobs");
        } else {
            choice.set("logprobs", logprobs);
        }
    }
}
