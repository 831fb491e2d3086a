package dev.finetune4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DRS on a hand-written labelled English + Chinese banking set (src/test/resources/drs). */
class DomainRelevanceTest {
    private static final JsonNode SET = load();

    private static JsonNode load() {
        try (InputStream in = DomainRelevanceTest.class.getResourceAsStream("/drs/banking_domain_set.json")) {
            return new ObjectMapper().readTree(in);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> texts(String key) {
        return ReferenceSet.list(SET.get(key));
    }

    /**
     * A stand-in sentence encoder with known behaviour: hashed presence of content terms (Latin words of 4+
     * letters, CJK character bigrams), so that function words do not dominate the similarity.
     */
    private static final TextEmbedder HASHED_TERMS = texts -> texts.stream().map(t -> {
        float[] v = new float[1024];
        for (String term : LexicalRelevance.terms(t)) {
            boolean cjkBigram = term.codePointCount(0, term.length()) == 2 && Character.isIdeographic(term.codePointAt(0));
            if (cjkBigram || (term.length() >= 4 && !Character.isIdeographic(term.codePointAt(0)))) {
                v[Math.floorMod(term.hashCode(), v.length)] = 1;
            }
        }
        return v;
    }).toArray(float[][]::new);

    @Test
    void lexicalScorerSeparatesInFromOutOfDomain() {
        RelevanceScorer drs = DomainRelevance.lexical(texts("domain"), texts("background"));
        double[] in = drs.scoreAll(texts("in_domain"));
        double[] out = drs.scoreAll(texts("out_of_domain"));
        double auc = DomainRelevance.rocAuc(in, out);
        assertTrue(auc >= 0.9, "ROC AUC " + auc);
        for (double s : in) {
            assertTrue(s >= 0 && s <= 1);
        }
        // Each language on its own separates too.
        assertTrue(DomainRelevance.rocAuc(java.util.Arrays.copyOfRange(in, 12, 20), java.util.Arrays.copyOfRange(out, 12, 20)) >= 0.9, "Chinese");
        assertEquals(0.0, drs.score("!!!"), 0.0);
    }

    @Test
    void lexicalFormulaByHand() {
        // Domain "loan loan", background "cat": V = {loan, cat} + unknown = 3, alpha 1.
        // P_D(loan) = 3/5, P_B(loan) = 1/4 -> w = ln(12/5); a one-term text scores sigmoid(ln(12/5)) = 12/17.
        RelevanceScorer drs = DomainRelevance.lexical(List.of("loan loan"), List.of("cat"));
        assertEquals(12.0 / 17, drs.score("Loan!"), 1e-12);
        // Unknown term: weight -ln 2 -> sigmoid = 1/3. "loan xyz": sigmoid((ln(12/5) - ln 2) / 2) = 1/(1 + sqrt(5/6)).
        assertEquals(1.0 / 3, drs.score("xyz"), 1e-12);
        assertEquals(1 / (1 + Math.sqrt(5.0 / 6)), drs.score("loan xyz"), 1e-12);
    }

    @Test
    void embeddingScorerIsCalibratedAndSeparates() {
        RelevanceScorer drs = DomainRelevance.embedding(HASHED_TERMS, texts("domain"), texts("background"));
        EmbeddingRelevance e = (EmbeddingRelevance) drs;
        assertTrue(e.domainLevel() > e.backgroundLevel());
        double[] in = drs.scoreAll(texts("in_domain"));
        double[] out = drs.scoreAll(texts("out_of_domain"));
        assertTrue(DomainRelevance.rocAuc(in, out) >= 0.9, "ROC AUC " + DomainRelevance.rocAuc(in, out));
        // Calibration: mean over the background corpus is about 0, over the domain corpus about 1 (clamped).
        double bg = java.util.Arrays.stream(drs.scoreAll(texts("background"))).average().orElseThrow();
        assertTrue(bg < 0.15, "background mean " + bg);
        assertThrows(IllegalStateException.class,
                () -> DomainRelevance.embedding(t -> t.stream().map(x -> new float[] {1, 0}).toArray(float[][]::new), List.of("a"), List.of("b")));
    }

    @Test
    void corpusScoreWithBootstrapInterval() {
        RelevanceScorer drs = DomainRelevance.lexical(texts("domain"), texts("background"));
        CorpusRelevance c = DomainRelevance.corpusScore(drs, texts("in_domain"));
        assertTrue(c.low() <= c.mean() && c.mean() <= c.high(), c.toString());
        assertTrue(c.high() - c.low() < 0.3);
        assertEquals(c, DomainRelevance.corpusScore(drs, texts("in_domain")), "seeded, reproducible");
        CorpusRelevance out = DomainRelevance.corpusScore(drs, texts("out_of_domain"));
        assertTrue(out.high() < c.low(), "intervals of in- and out-of-domain outputs do not overlap");
        assertEquals(0.5, DomainRelevance.percentile(new double[] {0, 1}, 0.5), 0.0);
    }

    @Test
    void rocAucCountsTiesAsHalfAndRefusesNaN() {
        // pairs (p, q): 0.2 beats 0.1, ties 0.2; 0.5 beats both; 0 (as -0.0) ties 0.0 and loses to the rest.
        double[] pos = {0.2, 0.5, -0.0};
        double[] neg = {0.1, 0.2, 0.0};
        // wins: 0.2 -> 0.1 and 0.0 (2) + tie 0.2 (0.5); 0.5 -> 3; -0.0 -> tie 0.0 (0.5). Total 6 of 9 pairs.
        assertEquals(6.0 / 9, DomainRelevance.rocAuc(pos, neg), 1e-15);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DomainRelevance.rocAuc(new double[] {0.1}, new double[] {0.3, Double.NaN}));
        assertTrue(e.getMessage().contains("negatives[1] is NaN"), e.getMessage());
    }

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // every pair: 100,000 x 100,000 took a minute
    void rocAucOfLargeSetsIsNotQuadratic() {
        // positives 0 .. n-1, negatives -0.5 .. n-1.5: positive i beats the i + 1 negatives below it, so the AUC is
        // (1 + 2 + ... + n) / n^2 = (n + 1) / (2n)
        int n = 300_000;
        double[] pos = new double[n];
        double[] neg = new double[n];
        for (int i = 0; i < n; i++) {
            pos[i] = n - 1 - i;
            neg[i] = i - 0.5;
        }
        assertEquals((n + 1.0) / (2.0 * n), DomainRelevance.rocAuc(pos, neg), 1e-12);
    }

    @Test
    void lexicalTermsKeepCombiningMarksInTheirWord() {
        // Devanagari vowel signs and anusvara are marks: "बैंक" (bank) is one word, not the consonants ब and क
        assertEquals(List.of("बैंक", "खाता"), LexicalRelevance.terms("बैंक खाता"));
        // a decomposed é is the same term as the composed one
        assertEquals(List.of("café", "café"), LexicalRelevance.terms("Cafe\u0301 CAFÉ"));
        assertEquals(List.of("ภาษาไทย"), LexicalRelevance.terms("ภาษาไทย"));
    }
}
