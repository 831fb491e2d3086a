package dev.finetune4j.data.augment;

import java.io.Serializable;
import java.util.List;

/** Where synonyms come from; see {@link SynonymSources} for TSV, WordNet and Cilin files. */
@FunctionalInterface
public interface SynonymSource extends Serializable {
    /**
     * Synonyms of {@code word} (without the word itself), empty when none are known.
     *
     * @param word the word
     * @return its synonyms
     */
    List<String> synonyms(String word);
}
