package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.samples.quickstart.data.PromptFormat;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** Greedy answers of a model to questions, in {@link PromptFormat}'s layout, cut at the end-of-answer byte. */
final class Answering {
    /** Longest answer in bytes (the longest reference is about 120). */
    static final int MAX_NEW_TOKENS = 160;

    private Answering() {
    }

    /** The model's greedy answer to each question, in order. */
    static List<String> answers(LogitsModel model, Tokenizer tok, List<QaExample> questions) {
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(MAX_NEW_TOKENS)
                .stopTokens(Set.of((long) PromptFormat.END, (long) ByteLevelTokenizer.EOS)).build();
        return questions.stream().map(q -> {
            long[] prompt = tok.encode(q.prompt());
            long[] out = Generator.generate(model, prompt, cfg);
            return tok.decode(Arrays.copyOfRange(out, prompt.length, out.length)).strip();
        }).toList();
    }
}
