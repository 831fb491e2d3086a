package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.peft.train.SftDataset;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;
import dev.finetune4j.samples.quickstart.data.PromptFormat;

import java.util.List;
import java.util.Objects;

/**
 * One prepared support example: its intent, language, (redacted) question and answer.
 *
 * @param label    intent
 * @param lang     {@code en} or {@code zh}
 * @param question the customer's question
 * @param answer   the reference answer
 */
public record QaExample(String label, String lang, String question, String answer) {

    /**
     * The examples of a prepared alpaca-shaped split ({@code instruction}, {@code output}, {@code label}, {@code
     * lang}).
     *
     * @param records the records of the split
     * @return one example per record, in order
     */
    public static List<QaExample> of(List<Record> records) {
        return records.stream().map(r -> new QaExample(Objects.requireNonNullElse(r.string("label"), ""),
                Objects.requireNonNullElse(r.string("lang"), ""), r.string("instruction"), r.string("output"))).toList();
    }

    /**
     * The prompt text the model sees.
     *
     * @return the question in the prompt format
     */
    public String prompt() {
        return PromptFormat.prompt(question);
    }

    /**
     * Prompt and completion as one document (what perplexity is computed over).
     *
     * @return the prompt followed by the completion
     */
    public String document() {
        return prompt() + PromptFormat.completion(answer);
    }

    /**
     * Prompt + completion ids with the prompt masked (-100): the loss covers the answer only.
     *
     * @param tok the tokenizer
     * @return the input ids and labels
     */
    public TokenizedExample tokenized(Tokenizer tok) {
        return SftDataset.promptCompletion(tok.encode(prompt()), tok.encode(PromptFormat.completion(answer)), 0);
    }

    /**
     * The examples tokenized for completion-only SFT.
     *
     * @param examples the examples
     * @param tok the tokenizer
     * @return the dataset, in order
     */
    public static TokenizedDataset dataset(List<QaExample> examples, Tokenizer tok) {
        return TokenizedDataset.of(examples.stream().map(e -> e.tokenized(tok)).toList());
    }
}
