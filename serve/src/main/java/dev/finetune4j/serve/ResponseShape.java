package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What {@code /v1/completions} and {@code /v1/chat/completions} answer differently: names and the shape of a
 * choice. The flow around them (validation, engine requests, streaming) is shared in {@link CompletionEndpoint}.
 */
sealed interface ResponseShape permits ResponseShape.Text, ResponseShape.Chat {

    /** The prefix of the response's {@code id}. */
    String idPrefix();

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
     * @param index  the choice's index
     * @param text   the text
     * @param tokens the generated ids behind it
     */
    ObjectNode pieceChoice(int index, String text, long[] tokens);

    /**
     * A streamed choice that ends it.
     *
     * @param index        the choice's index
     * @param finish       why generation ended
     */
    ObjectNode finishChoice(int index, ChoiceFinish finish);

    /**
     * A choice of a whole (not streamed) response.
     *
     * @param index        the choice's index
     * @param text         the generated text
     * @param tokens       the generated ids
     * @param finish       why generation ended
     */
    ObjectNode wholeChoice(int index, String text, long[] tokens, ChoiceFinish finish);

    /** {@code text_completion}: choices carry {@code text}, and the generated ids as the extension {@code token_ids}. */
    record Text() implements ResponseShape {
        @Override
        public String idPrefix() {
            return "cmpl-";
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
        public ObjectNode pieceChoice(int index, String text, long[] tokens) {
            return choice(index, text, tokens, null);
        }

        @Override
        public ObjectNode finishChoice(int index, ChoiceFinish finish) {
            return choice(index, "", new long[0], finish);
        }

        @Override
        public ObjectNode wholeChoice(int index, String text, long[] tokens, ChoiceFinish finish) {
            return choice(index, text, tokens, finish);
        }

        private static ObjectNode choice(int index, String text, long[] tokens, ChoiceFinish finish) {
            ObjectNode c = OpenAiJson.MAPPER.createObjectNode();
            c.put("index", index);
            c.put("text", text);
            c.putNull("logprobs");
            ChoiceFinish.write(c, finish);
            var ids = c.putArray("token_ids");
            for (long t : tokens) {
                ids.add(t);
            }
            return c;
        }
    }

    /** {@code chat.completion}: choices carry an assistant {@code message}, stream chunks a {@code delta}. */
    record Chat() implements ResponseShape {
        @Override
        public String idPrefix() {
            return "chatcmpl-";
        }

        @Override
        public String object(boolean chunk) {
            return chunk ? "chat.completion.chunk" : "chat.completion";
        }

        @Override
        public ObjectNode openingChoice(int index) {
            ObjectNode delta = OpenAiJson.MAPPER.createObjectNode().put("role", "assistant").put("content", "");
            return chunkChoice(index, delta, null);
        }

        @Override
        public ObjectNode pieceChoice(int index, String text, long[] tokens) {
            return chunkChoice(index, OpenAiJson.MAPPER.createObjectNode().put("content", text), null);
        }

        @Override
        public ObjectNode finishChoice(int index, ChoiceFinish finish) {
            return chunkChoice(index, OpenAiJson.MAPPER.createObjectNode(), finish);
        }

        @Override
        public ObjectNode wholeChoice(int index, String text, long[] tokens, ChoiceFinish finish) {
            ObjectNode c = OpenAiJson.MAPPER.createObjectNode();
            c.put("index", index);
            c.putObject("message").put("role", "assistant").put("content", text).putNull("refusal");
            c.putNull("logprobs");
            ChoiceFinish.write(c, finish);
            return c;
        }

        private static ObjectNode chunkChoice(int index, ObjectNode delta, ChoiceFinish finish) {
            ObjectNode c = OpenAiJson.MAPPER.createObjectNode();
            c.put("index", index);
            c.set("delta", delta);
            c.putNull("logprobs");
            ChoiceFinish.write(c, finish);
            return c;
        }
    }
}
