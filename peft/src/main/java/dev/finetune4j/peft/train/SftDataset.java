package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * Supervised fine-tuning data from {@link SftExample}s (conversations or plain texts), formatted with a chat
 * template and tokenized into the {@link TokenizedDataset} the trainers consume.
 *
 * <pre>{@code
 * List<SftExample> examples = List.of(SftExample.chat(ChatMessage.user("Hi"), ChatMessage.assistant("Hello")));
 * TokenizedDataset train = SftDataset.fromExamples(examples, tokenizer, SftFormat.defaults().withMaxLength(1024));
 * }</pre>
 *
 * <p>Each conversation is rendered with its tools up to each assistant turn and every piece is tokenized on its own:
 * the text up to and including the template's assistant prefix is the prompt (labels -100 under completion-only
 * loss: system and user turns, tool definitions and tool results), each assistant turn with the rest of its turn
 * (its reasoning trace where the template renders one, answer text, tool calls as the template writes them,
 * end-of-turn marker) is trained, as TRL trains the whole assistant turn as rendered. Tokenizing pieces
 * separately keeps the prompt/answer boundary exact for any tokenizer, as a merge across it cannot happen.
 */
public final class SftDataset {
    private static final String FIX = "train with a built-in template of the same format "
            + "(SftFormat.withTemplate(ChatTemplate.CHATML), LLAMA3, ...; they write no tools) or give the examples as "
            + "formatted text (SftExample.text).";
    /** Templates that render a trace only on the last turns (gpt-oss, Qwen3) re-render earlier ones without it. */
    private static final String REASONING_FIX = "the conversation carries reasoning traces, which templates such as "
            + "gpt-oss's and Qwen3's render only on the last turns (and the built-in formats have no place for): train "
            + "with a template that renders each assistant turn and its trace the same wherever the turn stands (the "
            + "model's template without its rule for the last turns, as TRL's training templates do, given with "
            + "SftFormat.withTemplate(JinjaChatTemplate.parse(...))), keep one user question and its answer per example, "
            + "or give the examples as formatted text (SftExample.text).";

    private SftDataset() {
    }

    /**
     * Tokenizes {@code sft} in order.
     *
     * @param sft the examples
     * @param tokenizer the model's tokenizer
     * @param format template, loss masking, EOS, truncation and packing
     * @return one tokenized example per example, or packed sequences when the format packs
     * @throws IllegalArgumentException naming the example that is null, gives no tokens, is a conversation
     *                                  without an assistant turn under completion-only loss, or is a conversation
     *                                  the chat template refuses (its {@code raise_exception} message included), or
     *                                  has tools, tool calls, tool results or reasoning traces and the template is a
     *                                  built-in format
     */
    public static TokenizedDataset fromExamples(List<SftExample> sft, Tokenizer tokenizer, SftFormat format) {
        ChatTemplate template = format.template() != null ? format.template() : tokenizer.chatTemplate();
        List<TokenizedExample> examples = new ArrayList<>(sft.size());
        int untrained = 0;
        for (int i = 0; i < sft.size(); i++) {
            Pieces pieces = new Pieces();
            switch (sft.get(i)) {
                case SftExample.Text(String text) -> pieces.add(tokenizer.encodeWithSpecialTokens(text), true);
                case SftExample.Chat(List<ChatMessage> messages, List<ToolDefinition> tools) -> {
                    if (format.completionOnly() && messages.stream().noneMatch(m -> m.role().equals("assistant"))) {
                        throw new IllegalArgumentException("example " + i + " has no assistant turn, so completion-only "
                                + "loss has nothing to learn; add the answer or turn completion-only loss off "
                                + "(SftFormat.withCompletionOnly(false))");
                    }
                    try {
                        conversation(pieces, messages, tools, template, tokenizer, format.completionOnly());
                    } catch (TemplateException e) {
                        throw new IllegalArgumentException("example " + i + ": the chat template " + template.name()
                                + " refused the conversation: " + e.getMessage() + ". Fix the example to the shape the "
                                + "template accepts, or pass a built-in template (SftFormat.withTemplate)", e);
                    } catch (IllegalArgumentException e) {
                        // e.g. a built-in format refusing tools or reasoning traces: name the example
                        throw new IllegalArgumentException("example " + i + ": " + e.getMessage(), e);
                    }
                }
                case null -> throw new IllegalArgumentException("example " + i + " is null");
            }
            OptionalLong eos = tokenizer.eosTokenId();
            // a chat template that closes its turns with EOS (Qwen's "<|im_end|>\n") has ended the answer already
            boolean ended = eos.isPresent() && (sft.get(i) instanceof SftExample.Chat
                    ? pieces.lastPieceHolds(eos.getAsLong()) : pieces.lastId() == eos.getAsLong());
            if (format.appendEos() && eos.isPresent() && !ended) {
                pieces.add(new long[]{eos.getAsLong()}, pieces.lastTrained());
            }
            TokenizedExample e = pieces.example(format.maxLength(), i);
            untrained += e.lossTokens() == 0 ? 1 : 0;
            examples.add(e);
        }
        if (untrained > 0) {
            LoggerFactory.getLogger(SftDataset.class).warn("{} of {} examples have no label token left after truncation to {} "
                    + "tokens; raise maxLength or shorten their prompts", untrained, sft.size(), format.maxLength());
        }
        TokenizedDataset data = TokenizedDataset.of(examples);
        return format.packing() ? data.packed(format.maxLength()) : data;
    }

    /**
     * One prompt/completion example, the prompt masked from the loss (labels -100) and the completion trained:
     * the one place that lays out completion-only labels, for callers that tokenize prompt and completion
     * themselves (each piece on its own, so no token merges across the boundary).
     *
     * @param prompt the prompt's token ids
     * @param completion the completion's token ids
     * @param maxLength cut to this many tokens when positive (the caller decides and says so); 0 keeps all
     * @return the example: prompt then completion, labels -100 over the prompt
     * @throws IllegalArgumentException when both parts are empty
     */
    public static TokenizedExample promptCompletion(long[] prompt, long[] completion, int maxLength) {
        if (prompt.length + completion.length == 0) {
            throw new IllegalArgumentException("prompt and completion are both empty: an example needs at least one token");
        }
        Pieces pieces = new Pieces();
        pieces.add(prompt, false);
        pieces.add(completion, true);
        return pieces.example(maxLength, 0);
    }

    /**
     * Adds the rendered conversation: the text before each assistant turn, up to and including the template's
     * assistant prefix, untrained (under completion-only loss); each assistant turn's rest (its answer or tool calls
     * and its end-of-turn marker) trained. Tool results and user turns lie in the untrained text.
     *
     * <p>The template renders only at assistant boundaries: templates group consecutive tool results into one
     * block (Qwen's {@code <tool_response>}s share one user turn), so a render ending inside such a group is no
     * prefix of the render with one more result.
     */
    private static void conversation(Pieces pieces, List<ChatMessage> messages, List<ToolDefinition> tools,
                                     ChatTemplate template, Tokenizer tokenizer, boolean completionOnly) {
        boolean reasoning = messages.stream().anyMatch(ChatMessage::hasReasoning);
        String done = "";
        for (int t = 0; t < messages.size(); t++) {
            if (messages.get(t).role().equals("assistant")) {
                String prompt = template.render(messages.subList(0, t), tools, true);
                String rendered = template.render(messages.subList(0, t + 1), tools, false);
                pieces.add(tokenizer.encode(suffix(prompt, done, template, reasoning)), !completionOnly);
                pieces.add(tokenizer.encode(suffix(rendered, prompt, template, reasoning)), true);
                done = rendered;
            }
        }
        if (!messages.isEmpty() && !messages.getLast().role().equals("assistant")) {
            pieces.add(tokenizer.encode(suffix(template.render(messages, tools, false), done, template,
                    reasoning)), !completionOnly);
        }
    }

    /**
     * {@code text} without its prefix {@code head}: the prompt/answer split needs a template whose render up to an
     * assistant turn is a prefix of its render with that turn, and that of the prompt of the next one. The built-ins
     * are; some models' own are not (one that treats the last message specially, re-renders earlier turns, writes the
     * tools before the last user turn, or renders reasoning traces only on the last turns). {@code reasoning} says
     * whether the conversation carries traces, which changes what to do then.
     */
    private static String suffix(String text, String head, ChatTemplate template, boolean reasoning) {
        if (!text.startsWith(head)) {
            throw new IllegalStateException("the chat template " + template.name() + " does not render conversations by "
                    + "appending turns (rendering the first turns is not a prefix of rendering one more), so prompt and "
                    + "answer cannot be told apart; " + (reasoning ? REASONING_FIX : FIX) + " " + firstDifference(head, text));
        }
        return text.substring(head.length());
    }

    private static String firstDifference(String head, String text) {
        int at = 0;
        while (at < head.length() && at < text.length() && head.charAt(at) == text.charAt(at)) {
            at++;
        }
        int from = Math.max(0, at - 40);
        return "The renders differ at character " + at + ": \"" + head.substring(from, Math.min(head.length(), at + 40))
                + "\" then \"" + text.substring(from, Math.min(text.length(), at + 40)) + "\"";
    }

    /** Token pieces with their trained flag, joined into one example. */
    private static final class Pieces {
        private long[] ids = new long[0];
        private long[] labels = new long[0];
        private boolean lastTrained;
        private int lastStart;

        void add(long[] piece, boolean trained) {
            int at = ids.length;
            lastStart = at;
            ids = Arrays.copyOf(ids, at + piece.length);
            labels = Arrays.copyOf(labels, at + piece.length);
            System.arraycopy(piece, 0, ids, at, piece.length);
            if (trained) {
                System.arraycopy(piece, 0, labels, at, piece.length);
            } else {
                Arrays.fill(labels, at, labels.length, CrossEntropy.IGNORE_INDEX);
            }
            lastTrained = trained;
        }

        long lastId() {
            return ids.length == 0 ? -1 : ids[ids.length - 1];
        }

        /** Whether the last piece added holds {@code id}. */
        boolean lastPieceHolds(long id) {
            for (int k = lastStart; k < ids.length; k++) {
                if (ids[k] == id) {
                    return true;
                }
            }
            return false;
        }

        boolean lastTrained() {
            return lastTrained;
        }

        TokenizedExample example(int maxLength, int index) {
            if (ids.length == 0) {
                throw new IllegalArgumentException("example " + index + " gives no tokens: its text is empty");
            }
            return new TokenizedExample(ids, labels, null).truncated(maxLength);
        }
    }
}
