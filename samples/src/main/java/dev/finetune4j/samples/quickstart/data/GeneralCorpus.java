package dev.finetune4j.samples.quickstart.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The general pretraining corpus of the quickstart's base model: paragraphs of 3-6 everyday sentences (English or
 * Chinese) interleaved with everyday questions and answers in {@link PromptFormat}'s layout, so that the base
 * model writes fluent bytes and already answers "Q: ... A: ..." prompts, but knows nothing of banking.
 */
final class GeneralCorpus {
    private final SplittableRandom random;

    GeneralCorpus(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** {@code paragraphs} texts; every fourth one is a question/answer. */
    List<String> texts(int paragraphs) {
        List<String> out = new ArrayList<>(paragraphs);
        for (int i = 0; i < paragraphs; i++) {
            if (i % 4 == 3) {
                List<String> qa = GeneralText.QA.get(random.nextInt(GeneralText.QA.size()));
                out.add(PromptFormat.prompt(qa.get(0)) + PromptFormat.completion(qa.get(1)));
            } else {
                List<String> pool = random.nextBoolean() ? GeneralText.EN : GeneralText.ZH;
                String sep = pool == GeneralText.EN ? " " : "";
                StringBuilder sb = new StringBuilder();
                for (int n = 3 + random.nextInt(4); n > 0; n--) {
                    sb.append(sb.isEmpty() ? "" : sep).append(pool.get(random.nextInt(pool.size())));
                }
                out.add(sb.toString());
            }
        }
        return out;
    }
}
