package dev.finetune4j.samples.quickstart.data;

/**
 * How the quickstart lays out a question and its answer for a byte-level model: {@code "Q: question\nA: "} then
 * the answer and a newline, which ends generation. The general corpus uses the same layout for its everyday
 * questions, so the base model already answers in this shape before it knows anything about banking.
 */
public final class PromptFormat {
    /** The byte that ends an answer (and generation). */
    public static final char END = '\n';

    private PromptFormat() {
    }

    /**
     * The prompt for a question: {@code "Q: " + question + "\nA: "}.
     *
     * @param question the customer's question
     * @return the prompt
     */
    public static String prompt(String question) {
        return "Q: " + question.strip() + "\nA: ";
    }

    /**
     * The completion the model should produce for an answer: the answer and {@link #END}.
     *
     * @param answer the reference answer
     * @return the completion
     */
    public static String completion(String answer) {
        return answer.strip() + END;
    }
}
