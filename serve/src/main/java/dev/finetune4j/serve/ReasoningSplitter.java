package dev.finetune4j.serve;

import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits each choice's text into thinking and answer by {@link ReasoningParser}'s rules, between a
 * {@link GenerationRun} and the answer's reader (a {@link ToolCallSplitter}, or the response writer): thinking goes to
 * {@link Sink#onReasoning}, the answer on as text. One path for whole and streamed responses, so both split alike.
 *
 * <p>Where the rules come from: vLLM's {@code deepseek_r1} and {@code qwen3} parsers end thinking at the first
 * {@code </think>}, call an output that never writes one all thinking, and drop a {@code <think>} the output writes
 * even when the prompt opened it. They cannot see the prompt, so {@code deepseek_r1} also calls an output that opens
 * no thinking all thinking (for the DeepSeek-R1 distill templates, which open the tag in the prompt); here the prompt
 * is known ({@link #promptOpensThinking}, llama.cpp's {@code thinking_forced_open}), and such an output is content, as
 * in llama.cpp. The whitespace around the tags is dropped, as llama.cpp does and Qwen3's template does when it reads
 * an answer back; vLLM keeps it.
 *
 * <p>While streaming, text that may be the start of a tag, and whitespace that may precede {@code </think>}, is held
 * until the next text decides it. Generated tokens (and their log-probabilities) of held text travel with whatever
 * is released next, so every token is reported once.
 *
 * <p>Not thread-safe: used by the handler thread that drains the run.
 */
final class ReasoningSplitter implements GenerationRun.Listener {
    /** The tag that opens thinking. */
    static final String START = "<think>";
    /** The tag that ends it. */
    static final String END = "</think>";
    /** Prompt tokens decoded to see whether the prompt opened thinking: the tag and whitespace fit in far fewer. */
    static final int PROMPT_TAIL_TOKENS = 16;

    /** Where thinking goes; the answer's text and the finishes go on as a run reports them. */
    interface Sink extends GenerationRun.Listener {
        /**
         * Thinking that became final.
         *
         * @param choice   the choice's index
         * @param text     the text, never empty
         * @param tokens   the generated ids not reported before
         * @param logprobs their log-probabilities, when the request asks for them; else empty
         */
        void onReasoning(int choice, String text, long[] tokens, List<TokenLogprobs> logprobs);
    }

    private enum Phase {
        /** Before the output shows whether it starts with {@code <think>}. */
        LEAD,
        /** Inside the thinking. */
        THINKING,
        /** After {@code </think>}, dropping whitespace. */
        ANSWER_LEAD,
        /** The answer: text goes on as it comes. */
        ANSWER
    }

    private final Sink sink;
    private final List<Choice> choices = new ArrayList<>();

    /**
     * @param promptOpened per choice, whether its prompt opened thinking ({@link #promptOpensThinking})
     * @param sink         where thinking, answer text and finishes go
     */
    ReasoningSplitter(boolean[] promptOpened, Sink sink) {
        this.sink = sink;
        for (boolean opened : promptOpened) {
            choices.add(new Choice(opened));
        }
    }

    /**
     * Whether the prompt leaves thinking open: its text ends with {@code <think>} and maybe whitespace, as the
     * DeepSeek-R1 distill templates end the generation prompt ({@code <｜Assistant｜><think>\n}).
     *
     * @param tokenizer the model's tokenizer
     * @param prompt    the prompt's token ids
     */
    static boolean promptOpensThinking(Tokenizer tokenizer, long[] prompt) {
        long[] tail = Arrays.copyOfRange(prompt, Math.max(0, prompt.length - PROMPT_TAIL_TOKENS), prompt.length);
        return tokenizer.decode(tail).stripTrailing().endsWith(START);
    }

    @Override
    public void onText(int index, String text, long[] tokens, List<TokenLogprobs> logprobs) {
        Choice choice = choices.get(index);
        for (long t : tokens) {
            choice.heldTokens.add(t);
        }
        choice.heldLogprobs.addAll(logprobs);
        choice.pending.append(text);
        advance(index, choice);
    }

    @Override
    public void onFinish(int index, ChoiceFinish finish) {
        Choice choice = choices.get(index);
        String rest = choice.pending.toString();
        switch (choice.phase) {
            // a lead that is whitespace or part of "<think>": thinking's if the prompt opened it, else the answer's
            case LEAD -> {
                if (choice.promptOpened) {
                    reason(index, choice, rest.strip());
                } else {
                    answer(index, choice, rest);
                }
            }
            case THINKING -> reason(index, choice, (choice.reasoned ? rest : rest.stripLeading()).stripTrailing());
            case ANSWER_LEAD, ANSWER -> {
                // whitespace after </think> only: dropped
            }
        }
        choice.pending.setLength(0);
        if (!choice.heldTokens.isEmpty()) {
            // tokens whose text was a tag or dropped whitespace
            sink.onText(index, "", choice.takeTokens(), choice.takeLogprobs());
        }
        sink.onFinish(index, finish);
    }

    /** Releases what the pending text decides, moving through the phases. */
    private void advance(int index, Choice choice) {
        StringBuilder pending = choice.pending;
        while (true) {
            switch (choice.phase) {
                case LEAD -> {
                    String lead = pending.toString().stripLeading();
                    if (lead.startsWith(START)) {
                        pending.delete(0, pending.length() - lead.length() + START.length());
                        choice.phase = Phase.THINKING;
                    } else if (START.startsWith(lead)) {
                        return; // whitespace or part of the tag so far
                    } else if (choice.promptOpened) {
                        choice.phase = Phase.THINKING;
                    } else {
                        choice.phase = Phase.ANSWER;
                    }
                }
                case THINKING -> {
                    if (!choice.reasoned) {
                        stripLeading(pending);
                    }
                    int end = pending.indexOf(END);
                    if (end >= 0) {
                        reason(index, choice, pending.substring(0, end).stripTrailing());
                        pending.delete(0, end + END.length());
                        choice.phase = Phase.ANSWER_LEAD;
                        continue;
                    }
                    int held = heldFrom(pending);
                    reason(index, choice, pending.substring(0, held));
                    pending.delete(0, held);
                    return;
                }
                case ANSWER_LEAD -> {
                    stripLeading(pending);
                    if (pending.isEmpty()) {
                        return;
                    }
                    choice.phase = Phase.ANSWER;
                }
                case ANSWER -> {
                    answer(index, choice, pending.toString());
                    pending.setLength(0);
                    return;
                }
            }
        }
    }

    /**
     * Where the thinking text that may still belong to its end starts: the longest tail that begins {@code </think>},
     * with the whitespace before it.
     */
    private static int heldFrom(CharSequence text) {
        int from = text.length();
        for (int k = Math.min(END.length() - 1, text.length()); k > 0; k--) {
            if (END.startsWith(text.subSequence(text.length() - k, text.length()).toString())) {
                from = text.length() - k;
                break;
            }
        }
        while (from > 0 && Character.isWhitespace(text.charAt(from - 1))) {
            from--;
        }
        return from;
    }

    private static void stripLeading(StringBuilder text) {
        int i = 0;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        text.delete(0, i);
    }

    private void reason(int index, Choice choice, String text) {
        if (!text.isEmpty()) {
            choice.reasoned = true;
            sink.onReasoning(index, text, choice.takeTokens(), choice.takeLogprobs());
        }
    }

    private void answer(int index, Choice choice, String text) {
        if (!text.isEmpty()) {
            sink.onText(index, text, choice.takeTokens(), choice.takeLogprobs());
        }
    }

    /** One choice's phase, unreleased text and unreported tokens. */
    private static final class Choice {
        final boolean promptOpened;
        final StringBuilder pending = new StringBuilder();
        final List<Long> heldTokens = new ArrayList<>();
        final List<TokenLogprobs> heldLogprobs = new ArrayList<>();
        Phase phase = Phase.LEAD;
        /** Whether thinking text went out: before that, leading whitespace is dropped. */
        boolean reasoned;

        Choice(boolean promptOpened) {
            this.promptOpened = promptOpened;
        }

        long[] takeTokens() {
            long[] out = heldTokens.stream().mapToLong(Long::longValue).toArray();
            heldTokens.clear();
            return out;
        }

        List<TokenLogprobs> takeLogprobs() {
            List<TokenLogprobs> out = List.copyOf(heldLogprobs);
            heldLogprobs.clear();
            return out;
        }
    }
}
