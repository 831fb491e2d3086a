package dev.finetune4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Corpus chrF, chrF++ and TER and sentence chrF of reference_set.json (sacreBLEU 2.6.0) within 1e-6. */
class ChrfTerReferenceTest {
    private static final double TOL = 1e-6;
    private static final JsonNode CORPUS = ReferenceSet.ROOT.get("corpus");

    private static List<String> hyps(String subset) {
        return ReferenceSet.subset(subset).stream().map(ReferenceSet.Pair::hyp).toList();
    }

    private static List<List<String>> refs(String subset) {
        return List.of(ReferenceSet.subset(subset).stream().map(ReferenceSet.Pair::ref).toList());
    }

    @Test
    void corpusChrfAndChrfPlusPlus() {
        for (String subset : List.of("en", "zh", "all")) {
            assertEquals(CORPUS.get("chrf." + subset).asDouble(),
                    Chrf.builder().build().corpusScore(hyps(subset), refs(subset)).score(), TOL, "chrf." + subset);
            assertEquals(CORPUS.get("chrf++." + subset).asDouble(),
                    Chrf.builder().wordOrder(2).build().corpusScore(hyps(subset), refs(subset)).score(), TOL, "chrf++." + subset);
        }
    }

    @Test
    void corpusTer() {
        for (String subset : List.of("en", "zh", "all")) {
            assertEquals(CORPUS.get("ter." + subset).asDouble(),
                    Ter.builder().build().corpusScore(hyps(subset), refs(subset)).score(), TOL, "ter." + subset);
        }
    }

    @Test
    void sentenceChrf() {
        List<ReferenceSet.Pair> pairs = ReferenceSet.pairs();
        Chrf chrf = Chrf.builder().build();
        for (int i = 0; i < pairs.size(); i++) {
            ReferenceSet.Pair p = pairs.get(i);
            assertEquals(ReferenceSet.ROOT.get("sentence").get(i).get("chrf").asDouble(),
                    chrf.sentenceScore(p.hyp(), List.of(p.ref())).score(), TOL, "sentence " + i + " " + p);
        }
    }
}
