package dev.finetune4j.eval;

import java.util.List;

/** Scores how relevant a text is to a domain, in [0, 1]. Implementations are immutable and thread-safe. */
@FunctionalInterface
public interface RelevanceScorer {
    /**
     * The domain relevance of one text, in [0, 1].
     *
     * @param text the text to score
     * @return 1 for clearly in-domain text, 0 for clearly out-of-domain
     */
    double score(String text);

    /**
     * Scores of several texts, in order (implementations may batch).
     *
     * @param texts the texts to score
     * @return one score in [0, 1] per text
     */
    default double[] scoreAll(List<String> texts) {
        return texts.stream().mapToDouble(this::score).toArray();
    }
}
