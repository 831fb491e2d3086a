package dev.finetune4j.peft.train;

/**
 * One unpaired feedback row in token ids: a prompt, one completion, and whether the completion is desirable (a
 * thumbs up) or undesirable (a thumbs down); TRL's unpaired preference format
 * ({@code prompt, completion, label}) after tokenization.
 *
 * @param prompt     prompt tokens (no loss on them)
 * @param completion tokens of the completion
 * @param desirable  true for a desirable completion, false for an undesirable one
 */
public record KtoExample(long[] prompt, long[] completion, boolean desirable) {

    /** Checks that the prompt and the completion have at least one token. */
    public KtoExample {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("a KTO row needs a non-empty prompt (at least a BOS token)");
        }
        if (completion == null || completion.length == 0) {
            throw new IllegalArgumentException("a KTO row needs a completion of at least one token");
        }
    }

    /** This row's prompt followed by {@code completion} (its own or another row's), labels -100 over the prompt. */
    TokenizedExample sequence(long[] completion) {
        return SftDataset.promptCompletion(prompt, completion, 0);
    }
}
