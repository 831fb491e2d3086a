package dev.finetune4j.eval;

import java.util.List;

/** Scores how relevant a text is to a domain, in [0, 1]. Implementations are immutable and thread-safe. */
@FunctionalInterface
public interface RelevanceScorer {
    /** The domain relevance of one text, in [0, 1]. */
    double score(String text);

    /** Scores of several texts, in order (implementations may batch). */
    default double[] scoreAll(List<String> texts) {
        return texts.stream().mapToDouble(this::score).toArray();
    }
}
