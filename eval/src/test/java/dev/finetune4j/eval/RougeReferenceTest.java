package dev.finetune4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Sentence ROUGE-1/2/L of the English pairs of reference_set.json. The fixture comes from torchmetrics, which
 * follows rouge-score's tokenizer and stores float32 values (rounding error below 1e-7), so 1e-6 holds.
 */
class RougeReferenceTest {
    @Test
    void sentenceRougeMatchesReference() {
        Rouge rouge = Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL").build();
        List<ReferenceSet.Pair> pairs = ReferenceSet.pairs();
        int checked = 0;
        for (int i = 0; i < pairs.size(); i++) {
            JsonNode want = ReferenceSet.ROOT.get("sentence").get(i).get("rouge_torchmetrics");
            if (want == null) {
                continue;
            }
            ReferenceSet.Pair p = pairs.get(i);
            Map<String, RougeScore> got = rouge.score(p.ref(), p.hyp());
            for (String type : rouge.rougeTypes()) {
                RougeScore s = got.get(type);
                String what = "pair " + i + " " + type;
                assertEquals(want.get(type + "_precision").asDouble(), s.precision(), 1e-6, what);
                assertEquals(want.get(type + "_recall").asDouble(), s.recall(), 1e-6, what);
                assertEquals(want.get(type + "_fmeasure").asDouble(), s.fmeasure(), 1e-6, what);
            }
            checked++;
        }
        assertEquals(160, checked);
    }
}
