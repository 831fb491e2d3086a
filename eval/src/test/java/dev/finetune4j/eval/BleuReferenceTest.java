package dev.finetune4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every corpus and sentence BLEU of reference_set.json (sacreBLEU 2.6.0) within 1e-6. */
class BleuReferenceTest {
    private static final double TOL = 1e-6;

    @Test
    void corpusScoresMatchSacreBleu() {
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = ReferenceSet.ROOT.get("corpus").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String[] key = e.getKey().split("\\.");
            if (!key[0].equals("bleu")) {
                continue;
            }
            List<ReferenceSet.Pair> pairs = ReferenceSet.subset(key[2]);
            List<String> hyps = pairs.stream().map(ReferenceSet.Pair::hyp).toList();
            List<List<String>> streams = key[3].equals("1ref")
                    ? List.of(pairs.stream().map(ReferenceSet.Pair::ref).toList())
                    : List.of(pairs.stream().map(ReferenceSet.Pair::ref).toList(), pairs.stream().map(ReferenceSet.Pair::ref2).toList());
            Bleu bleu = Bleu.builder().tokenize(key[1]).lowercase(key.length == 5).build();
            BleuScore s = bleu.corpusScore(hyps, streams);
            JsonNode want = e.getValue();
            String what = e.getKey();
            assertEquals(want.get("score").asDouble(), s.score(), TOL, what);
            if (want.has("sys_len")) {
                assertEquals(want.get("sys_len").asLong(), s.sysLen(), what);
                assertEquals(want.get("ref_len").asLong(), s.refLen(), what);
            }
            if (want.has("bp")) {
                assertEquals(want.get("bp").asDouble(), s.bp(), TOL, what);
                for (int k = 0; k < 4; k++) {
                    assertEquals(want.get("precisions").get(k).asDouble(), s.precisions().get(k), TOL, what + " p" + (k + 1));
                }
            }
            checked++;
        }
        assertEquals(45, checked);
    }

    @Test
    void sentenceScoresMatchSacreBleu() {
        List<ReferenceSet.Pair> pairs = ReferenceSet.pairs();
        JsonNode sentences = ReferenceSet.ROOT.get("sentence");
        for (String smooth : List.of("exp", "floor", "add-k", "none")) {
            for (int i = 0; i < pairs.size(); i++) {
                JsonNode want = sentences.get(i);
                Bleu bleu = Bleu.builder().tokenize(want.get("tokenize").asText()).smoothMethod(smooth).effectiveOrder(true).build();
                ReferenceSet.Pair p = pairs.get(i);
                double got = bleu.sentenceScore(p.hyp(), List.of(p.ref())).score();
                assertEquals(want.get("bleu." + smooth).asDouble(), got, TOL, "sentence " + i + " " + smooth + " " + p);
            }
        }
    }
}
