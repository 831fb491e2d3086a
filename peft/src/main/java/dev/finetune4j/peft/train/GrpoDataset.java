package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Prompts for a {@link GrpoTrainer}; immutable. The completions are sampled from the policy while it trains. */
public final class GrpoDataset {
    private final List<GrpoExample> rows;

    private GrpoDataset(List<GrpoExample> rows) {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("a GRPO data set needs at least one prompt");
        }
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i) == null) {
                throw new IllegalArgumentException("GRPO prompt " + i + " is null");
            }
        }
        this.rows = List.copyOf(rows);
    }

    /**
     * The given prompts, in order.
     *
     * @param rows the prompts, at least one
     * @return the data set
     */
    public static GrpoDataset of(List<GrpoExample> rows) {
        return new GrpoDataset(rows);
    }

    /**
     * Plain-text prompts, each encoded as it is (no special tokens added: put a BOS into the text's tokens yourself if
     * the model expects one); the reward functions see the text.
     *
     * @param prompts   the prompts' texts
     * @param tokenizer the model's tokenizer
     * @return the data set
     */
    public static GrpoDataset fromTexts(List<String> prompts, Tokenizer tokenizer) {
        List<GrpoExample> rows = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            String text = prompts.get(i);
            if (text == null) {
                throw new IllegalArgumentException("GRPO prompt " + i + " is null");
            }
            rows.add(new GrpoExample(requireTokens(tokenizer.encode(text), i), text));
        }
        return of(rows);
    }

    /**
     * Conversations to answer, each rendered by {@code template} with its generation prompt (the assistant's turn
     * opened) and encoded; the reward functions see each conversation's last user message (a {@link RewardModel}, the
     * whole conversation).
     *
     * @param conversations the conversations, each ending where the assistant should answer
     * @param tokenizer     the model's tokenizer
     * @param template      the chat template, e.g. {@code tokenizer.chatTemplate()}
     * @return the data set
     */
    public static GrpoDataset fromChats(List<List<ChatMessage>> conversations, Tokenizer tokenizer, ChatTemplate template) {
        List<GrpoExample> rows = new ArrayList<>(conversations.size());
        for (int i = 0; i < conversations.size(); i++) {
            List<ChatMessage> messages = conversations.get(i);
            String lastUser = messages == null ? null : messages.reversed().stream()
                    .filter(m -> m.role().equals("user")).map(ChatMessage::content).findFirst().orElse(null);
            if (lastUser == null) {
                throw new IllegalArgumentException("GRPO conversation " + i + " has no user message to answer");
            }
            String rendered = template.render(messages, true);
            rows.add(new GrpoExample(requireTokens(tokenizer.encode(rendered), i), lastUser, messages));
        }
        return of(rows);
    }

    private static long[] requireTokens(long[] ids, int i) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("GRPO prompt " + i + " encodes to no token: give it some text");
        }
        return ids;
    }

    /**
     * Number of prompts.
     *
     * @return the count
     */
    public int size() {
        return rows.size();
    }

    /**
     * Prompt {@code i}.
     *
     * @param i the index, in [0, size)
     * @return the prompt
     */
    public GrpoExample get(int i) {
        return rows.get(i);
    }
}
