package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.OutputConstraint;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.peft.serve.CompletionRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: reads the request, submits {@code n} engine
 * requests per prompt and answers with one JSON object or, with {@code "stream": true}, with server-sent events (a chunk per
 * piece of text, a chunk with each choice's {@code finish_reason}, a usage chunk when
 * {@code stream_options.include_usage} asks for it, then {@code [DONE]}). An error after the stream has started is
 * sent as a last event in OpenAI's error shape, without {@code [DONE]}. With {@code logprobs}, each choice (each
 * chunk, when streaming) carries the log-probabilities of the tokens whose text it carries: the same tokens as its
 * {@code token_ids}. With tools, chat choices are read for calls ({@link ToolCallSplitter}): a whole answer carries
 * them as {@code message.tool_calls}; a stream announces each call in a {@code tool_calls} delta (index, id, type,
 * function name, {@code ""} arguments) as soon as its head is read, then sends its arguments in pieces as they are
 * generated, which clients concatenate into the whole answer's arguments string. With a reasoning parser (chat only),
 * thinking is split off first ({@link ReasoningSplitter}): a whole answer carries it as
 * {@code message.reasoning_content}, a stream as {@code delta.reasoning_content} pieces before the content's, and
 * tool calls are read from the content only; outputs constrained by {@code response_format} or a forced
 * {@code tool_choice} are not split, since the constraint shapes them from their first token.
 */
final class CompletionEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(CompletionEndpoint.class);

    private final ServedModels models;
    private final ResponseShape shape;
    private final ReasoningParser reasoning;
    private final String promptParam;
    private final Function<JsonNode, ToolCalling> tools;
    private final BiFunction<JsonNode, ToolCalling, List<long[]>> prompts;
    private final int defaultMaxTokens;

    /**
     * @param models           what is served
     * @param shape            the route's response shape
     * @param reasoning        {@link ReasoningParser#THINK} to split thinking off the answers, else
     *                         {@link ReasoningParser#NONE}
     * @param promptParam      the field the prompts come from ({@code prompt}, {@code messages}), for error messages
     * @param tools            reads the body's tool fields ({@link ToolChoices}); a route without tools answers
     *                         {@link ToolCalling#NONE}
     * @param prompts          reads the prompts' token ids from the body, with the tools the prompt shows (and refuses
     *                         what the route does not support)
     * @param defaultMaxTokens {@code max_tokens} when the request has none
     */
    CompletionEndpoint(ServedModels models, ResponseShape shape, ReasoningParser reasoning, String promptParam,
                       Function<JsonNode, ToolCalling> tools, BiFunction<JsonNode, ToolCalling, List<long[]>> prompts,
                       int defaultMaxTokens) {
        this.models = models;
        this.shape = shape;
        this.reasoning = reasoning;
        this.promptParam = promptParam;
        this.tools = tools;
        this.prompts = prompts;
        this.defaultMaxTokens = defaultMaxTokens;
    }

    void handle(JsonNode body, ServerResponse response) throws InterruptedException {
        String model = JsonFields.requiredString(body, "model");
        String adapter = models.adapterFor(model);
        ToolCalling toolCalling = tools.apply(body);
        OutputConstraint format = models.responseFormats().constraint(body);
        if (toolCalling.constraint() != null && format != null) {
            throw ApiException.invalid("tool_choice", "a forced tool_choice (\"required\" or a named function) and a JSON "
                    + "'response_format' both decide the output's shape; send one of them");
        }
        SamplingParameters params = SamplingParameters.parse(body, defaultMaxTokens, models.stopTokens(),
                models.engine().vocabSize(), toolCalling.constraint() != null ? toolCalling.constraint() : format);
        int topLogprobs = shape.topLogprobs(body);
        models.promptLimits().checkChoices(params.n(), 1);
        List<long[]> promptIds = prompts.apply(body, toolCalling);
        models.promptLimits().checkChoices(params.n(), promptIds.size());
        if (!params.stop().isEmpty()) {
            models.requireTokenizer("stop", "'stop' (matched on text)");
        }
        ObjectNode header = OpenAiJson.MAPPER.createObjectNode();
        header.put("id", shape.idPrefix() + UUID.randomUUID().toString().replace("-", ""));
        header.put("created", Instant.now().getEpochSecond());
        header.put("model", model);
        int choiceCount = promptIds.size() * params.n();
        LogprobsJson logprobs = topLogprobs == CompletionRequest.NO_LOGPROBS ? null
                : new LogprobsJson(models.tokenizer(), models.vocabulary().bytesOrNull(), choiceCount);
        // a constrained output (JSON mode, a forced call) is shaped from its first token: it holds no thinking
        boolean constrained = toolCalling.constraint() != null || format != null;
        boolean[] opened = constrained ? null : thinkingOpened(promptIds, params.n());
        Function<ToolCallSplitter.Sink, GenerationRun.Listener> readers =
                sink -> listener(toolCalling, opened, choiceCount, sink);
        try (GenerationRun run = GenerationRun.start(models.engine(), adapter, promptIds, params, models.tokenizer(),
                topLogprobs, promptParam)) {
            if (params.stream()) {
                stream(run, readers, header, choiceCount, params.includeUsage(), logprobs, response);
            } else {
                whole(run, readers, header, choiceCount, logprobs, response);
            }
        }
    }

    /** The choice's {@code logprobs} object for these tokens, or null when the request asks for none. */
    private ObjectNode logprobs(LogprobsJson json, int choice, List<TokenLogprobs> tokens) {
        return json == null ? null : shape.logprobs(json, choice, tokens);
    }

    /**
     * Per choice, whether its prompt opened thinking ({@link ReasoningSplitter#promptOpensThinking}); null when this
     * route does not split thinking off.
     */
    private boolean[] thinkingOpened(List<long[]> promptIds, int n) {
        if (reasoning != ReasoningParser.THINK) {
            return null;
        }
        boolean[] opened = new boolean[promptIds.size() * n];
        for (int i = 0; i < opened.length; i++) {
            opened[i] = ReasoningSplitter.promptOpensThinking(models.tokenizer(), promptIds.get(i / n));
        }
        return opened;
    }

    /**
     * {@code sink}, behind a {@link ToolCallSplitter} when the choices are read for tool calls, and behind a
     * {@link ReasoningSplitter} before that when thinking is split off ({@code thinkingOpened} not null).
     */
    private static GenerationRun.Listener listener(ToolCalling toolCalling, boolean[] thinkingOpened, int choiceCount,
                                                   ToolCallSplitter.Sink sink) {
        ReasoningSplitter.Sink content = toolCalling.format() == null ? sink
                : new ToolCallSplitter(toolCalling.format(), toolCalling.parallel(), choiceCount, sink);
        return thinkingOpened == null ? content : new ReasoningSplitter(thinkingOpened, content);
    }

    /** The whole answer; {@code readers} puts the splitters the request needs in front of a sink. */
    private void whole(GenerationRun run, Function<ToolCallSplitter.Sink, GenerationRun.Listener> readers,
                       ObjectNode header, int choiceCount, LogprobsJson logprobsJson, ServerResponse response)
            throws InterruptedException {
        List<StringBuilder> texts = new ArrayList<>();
        List<StringBuilder> thoughts = new ArrayList<>();
        List<List<ToolCall>> calls = new ArrayList<>();
        List<List<Long>> tokens = new ArrayList<>();
        List<List<TokenLogprobs>> logprobs = new ArrayList<>();
        ChoiceFinish[] finishes = new ChoiceFinish[choiceCount];
        for (int i = 0; i < choiceCount; i++) {
            texts.add(new StringBuilder());
            thoughts.add(new StringBuilder());
            calls.add(new ArrayList<>());
            tokens.add(new ArrayList<>());
            logprobs.add(new ArrayList<>());
        }
        run.drain(readers.apply(new ToolCallSplitter.Sink() {
            @Override
            public void onText(int choice, String text, long[] ids, List<TokenLogprobs> idLogprobs) {
                texts.get(choice).append(text);
                add(choice, ids, idLogprobs);
            }

            @Override
            public void onReasoning(int choice, String text, long[] ids, List<TokenLogprobs> idLogprobs) {
                thoughts.get(choice).append(text);
                add(choice, ids, idLogprobs);
            }

            @Override
            public void onToolCallStart(int choice, int index, String id, String name, long[] ids,
                                        List<TokenLogprobs> idLogprobs) {
                add(choice, ids, idLogprobs);
            }

            @Override
            public void onToolCallArguments(int choice, int index, String arguments, long[] ids,
                                            List<TokenLogprobs> idLogprobs) {
                add(choice, ids, idLogprobs);
            }

            @Override
            public void onToolCall(int choice, int index, ToolCall call) {
                calls.get(choice).add(call);
            }

            private void add(int choice, long[] ids, List<TokenLogprobs> idLogprobs) {
                for (long id : ids) {
                    tokens.get(choice).add(id);
                }
                logprobs.get(choice).addAll(idLogprobs);
            }

            @Override
            public void onFinish(int choice, ChoiceFinish finish) {
                finishes[choice] = finish;
            }
        }));
        ObjectNode body = header.deepCopy();
        body.put("object", shape.object(false));
        ArrayNode choices = body.putArray("choices");
        for (int i = 0; i < choiceCount; i++) {
            long[] ids = tokens.get(i).stream().mapToLong(Long::longValue).toArray();
            choices.add(shape.wholeChoice(i, texts.get(i).toString(), thoughts.get(i).toString(), calls.get(i), ids,
                    logprobs(logprobsJson, i, logprobs.get(i)), finishes[i]));
        }
        body.set("usage", OpenAiJson.usage(run.promptTokens(), run.completionTokens()));
        OpenAiRoutes.sendJson(response, 200, body);
    }

    /** The answer as server-sent events; {@code readers} as for {@link #whole}. */
    private void stream(GenerationRun run, Function<ToolCallSplitter.Sink, GenerationRun.Listener> readers,
                        ObjectNode header, int choiceCount, boolean includeUsage, LogprobsJson logprobsJson,
                        ServerResponse response) throws InterruptedException {
        try (SseStream sse = SseStream.open(response, OpenAiJson.MAPPER)) {
            for (int i = 0; i < choiceCount; i++) {
                ObjectNode opening = shape.openingChoice(i);
                if (opening != null) {
                    sse.send(chunk(header, opening));
                }
            }
            try {
                run.drain(readers.apply(new ToolCallSplitter.Sink() {
                    @Override
                    public void onText(int choice, String text, long[] ids, List<TokenLogprobs> idLogprobs) {
                        sse.send(chunk(header, shape.pieceChoice(choice, text, ids, logprobs(logprobsJson, choice, idLogprobs))));
                    }

                    @Override
                    public void onReasoning(int choice, String text, long[] ids, List<TokenLogprobs> idLogprobs) {
                        sse.send(chunk(header, shape.reasoningPieceChoice(choice, text, logprobs(logprobsJson, choice, idLogprobs))));
                    }

                    @Override
                    public void onToolCallStart(int choice, int index, String id, String name, long[] ids,
                                                List<TokenLogprobs> idLogprobs) {
                        sse.send(chunk(header, shape.toolCallStartChoice(choice, index, id, name,
                                logprobs(logprobsJson, choice, idLogprobs))));
                    }

                    @Override
                    public void onToolCallArguments(int choice, int index, String arguments, long[] ids,
                                                    List<TokenLogprobs> idLogprobs) {
                        sse.send(chunk(header, shape.toolCallArgumentsChoice(choice, index, arguments,
                                logprobs(logprobsJson, choice, idLogprobs))));
                    }

                    @Override
                    public void onToolCall(int choice, int index, ToolCall call) {
                        // its pieces went out as they came
                    }

                    @Override
                    public void onFinish(int choice, ChoiceFinish finish) {
                        sse.send(chunk(header, shape.finishChoice(choice, finish)));
                    }
                }));
            } catch (ApiException e) {
                sse.send(OpenAiJson.error(e));
                return;
            }
            if (includeUsage) {
                ObjectNode usage = chunk(header, null);
                usage.set("usage", OpenAiJson.usage(run.promptTokens(), run.completionTokens()));
                sse.send(usage);
            }
            sse.done();
        } catch (UncheckedIOException e) {
            // the client went away: closing the run (try-with-resources in handle) cancels its generation
            LOG.debug("stream ended early: {}", e.getMessage());
        }
    }

    /** A stream chunk with one choice, or with none (the usage chunk). */
    private ObjectNode chunk(ObjectNode header, ObjectNode choice) {
        ObjectNode chunk = header.deepCopy();
        chunk.put("object", shape.object(true));
        ArrayNode choices = chunk.putArray("choices");
        if (choice != null) {
            choices.add(choice);
        }
        return chunk;
    }
}
