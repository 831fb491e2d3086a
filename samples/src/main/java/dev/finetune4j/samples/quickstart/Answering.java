package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.samples.quickstart.data.PromptFormat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** Greedy answers of a model to questions, in {@link PromptFormat}'s layout, cut at the end-of-answer byte. */
final class Answering {
    /** Questions generated together. */
    static final int BATCH = 8;

    private Answering() {
    }

    /**
     * The model's greedy answer of at most {@code maxTokens} tokens to each question, in order, generated
     * {@value #BATCH} questions at a time (each row gets what it gets alone).
     */
    static List<String> answers(LogitsModel model, Tokenizer tok, List<QaExample> questions, int maxTokens) {
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(maxTokens)
                .stopTokens(Set.of((long) PromptFormat.END, (long) ByteLevelTokenizer.EOS)).build();
        List<String> answers = new ArrayList<>();
        for (int from = 0; from < questions.size(); from += BATCH) {
            long[][] prompts = questions.subList(from, Math.min(questions.size(), from + BATCH)).stream()
                    .map(q -> tok.encode(q.prompt())).toArray(long[][]::new);
            long[][] outs = Generator.generate(model, prompts, cfg);
            for (int i = 0; i < prompts.length; i++) {
                answers.add(tok.decode(Arrays.copyOfRange(outs[i], prompts[i].length, outs[i].length)).strip());
            }
        }
        return answers;
    }
}
