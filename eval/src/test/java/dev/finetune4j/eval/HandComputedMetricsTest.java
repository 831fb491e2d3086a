package dev.finetune4j.eval;

import dev.finetune4j.eval.text.PorterStemmer;
import dev.finetune4j.eval.text.SacreTokenizer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Pairs outside the fixtures whose scores are worked out by hand in the comments. */
class HandComputedMetricsTest {
    private static final double TOL = 1e-9;

    @Test
    void bleuOfOneSentence() {
        // hyp "the cat sat on the mat" vs ref "the cat sat on a mat", 6 tokens each (BP 1):
        // 1-grams 5/6 ("the" clipped to 1), 2-grams 3/5, 3-grams 2/4, 4-grams 1/3;
        // BLEU = 100 * (5/6 * 3/5 * 1/2 * 1/3)^(1/4) = 100 * (1/12)^(1/4).
        BleuScore s = Bleu.builder().build().corpusScore(List.of("the cat sat on the mat"), List.of(List.of("the cat sat on a mat")));
        assertEquals(100 * Math.pow(1.0 / 12, 0.25), s.score(), TOL);
        assertEquals(List.of(500.0 / 6, 60.0, 50.0, 100.0 / 3), s.precisions());
        assertEquals("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", s.signature());
    }

    @Test
    void bleuBrevityPenaltyAndClosestReference() {
        // hyp "a b c" (3 tokens), refs of 5 and 1 tokens: both differ by 2, the shorter (1) wins -> BP 1.
        // 1-grams: a,b,c all in ref 1 -> 3/3; 2-grams "a b","b c" in ref 1 -> 2/2; 3-grams 1/1; no 4-grams:
        // effective order 3 -> BLEU 100.
        Bleu eff = Bleu.builder().effectiveOrder(true).build();
        BleuScore s = eff.sentenceScore("a b c", List.of("a b c d e", "z"));
        assertEquals(1, s.refLen());
        assertEquals(100.0, s.score(), TOL);
        // Against "a b c d e" alone: BP = exp(1 - 5/3).
        assertEquals(100 * Math.exp(1 - 5.0 / 3), eff.sentenceScore("a b c", List.of("a b c d e")).score(), TOL);
        assertEquals("nrefs:2|case:mixed|eff:yes|tok:13a|smooth:floor[0.10]|version:2.6.0",
                Bleu.builder().effectiveOrder(true).smoothMethod("floor").build().sentenceScore("a", List.of("a", "b")).signature());
    }

    @Test
    void tokenizers() {
        // "([0-9])(-)" splits a dash after a digit, so "1-2" becomes "1 - 2".
        assertEquals("Hello , world ! It's $ 3.5 , 1 - 2 and 3 - 4 .", SacreTokenizer.of("13a").apply("Hello, world! It's $3.5, 1-2 and 3-4."));
        // zh: each Chinese character alone, the rest as 13a; the full-width comma (U+FF0C) is in sacreBLEU's CJK ranges.
        assertEquals("我 爱 NLP ， ok .", SacreTokenizer.of("zh").apply("我爱NLP，ok."));
        // intl: Unicode punctuation and symbols split unless between digits.
        assertEquals("« Bonjour » , 3,5 € !", SacreTokenizer.of("intl").apply("«Bonjour», 3,5€!"));
        assertEquals("a b c", SacreTokenizer.of("char").apply("ab c"));
    }

    @Test
    void chrfOfCharacterOrderTwo() {
        // hyp "ab" vs ref "abc", char order 2, beta 2: unigrams P 2/2 R 2/3; bigrams P 1/1 R 1/2;
        // averages P 1, R 7/12; F2 = 5 * 1 * 7/12 / (4 * 1 + 7/12) = 35/55.
        Chrf chrf = Chrf.builder().charOrder(2).build();
        assertEquals(100.0 * 35 / 55, chrf.sentenceScore("ab", List.of("abc")).score(), TOL);
        assertEquals("nrefs:1|case:mixed|eff:yes|nc:2|nw:0|space:no|version:2.6.0", chrf.sentenceScore("ab", List.of("abc")).signature());
    }

    @Test
    void terWithOneShift() {
        // "a b c d" -> "c d a b": one block shift and no other edit: 1 / 4 words = 25.
        assertEquals(25.0, Ter.builder().build().sentenceScore("a b c d", List.of("c d a b")).score(), TOL);
        // One substitution in two words: 50; case is ignored by default.
        assertEquals(50.0, Ter.builder().build().sentenceScore("The cat", List.of("the dog")).score(), TOL);
        assertEquals(100.0, Ter.builder().caseSensitive(true).build().sentenceScore("The cat", List.of("the dog")).score(), TOL);
    }

    @Test
    void rougeNAndL() {
        // target "the cat sat on the mat" (6), prediction "the cat on the mat" (5).
        // rouge1: overlap 5 -> P 1, R 5/6, F 10/11. rouge2: 3 of 4 predicted bigrams, of 5 target -> P 3/4, R 3/5, F 2/3.
        // rougeL: LCS "the cat on the mat" = 5 -> same as rouge1.
        Map<String, RougeScore> r = Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL").build()
                .score("the cat sat on the mat", "The cat, on the mat!");
        assertEquals(new RougeScore(1, 5.0 / 6, 10.0 / 11).fmeasure(), r.get("rouge1").fmeasure(), TOL);
        assertEquals(0.75, r.get("rouge2").precision(), TOL);
        assertEquals(0.6, r.get("rouge2").recall(), TOL);
        assertEquals(2.0 / 3, r.get("rouge2").fmeasure(), TOL);
        assertEquals(10.0 / 11, r.get("rougeL").fmeasure(), TOL);
    }

    @Test
    void rougeLsumUnionLcsAndNoDoubleCounting() {
        Rouge lsum = Rouge.builder().rougeTypes("rougeLsum").build();
        // target sentences [a b c] [d e], prediction [a c] [d x e]: union LCS hits a, c then d, e -> 4 of 5 each side.
        assertEquals(0.8, lsum.score("a b c\nd e", "a c\nd x e").get("rougeLsum").fmeasure(), TOL);
        // target [a a] [a], prediction [a]: the prediction's single "a" may be used once -> P 1, R 1/3, F 1/2.
        RougeScore s = lsum.score("a a\na", "a").get("rougeLsum");
        assertEquals(1.0, s.precision(), TOL);
        assertEquals(1.0 / 3, s.recall(), TOL);
        assertEquals(0.5, s.fmeasure(), TOL);
    }

    @Test
    void rougeWithStemmerAndCjk() {
        // Stemmed: target [the, runner, were, run, quickli], prediction [a, runner, run, quick] -> overlap 2:
        // P 2/4, R 2/5, F 4/9. Unstemmed nothing matches.
        String target = "The runners were running quickly";
        String prediction = "a runner runs quick";
        assertEquals(4.0 / 9, Rouge.builder().rougeTypes("rouge1").useStemmer(true).build().score(target, prediction).get("rouge1").fmeasure(), TOL);
        assertEquals(0.0, Rouge.builder().rougeTypes("rouge1").build().score(target, prediction).get("rouge1").fmeasure(), TOL);
        // CJK option: characters as tokens, 3 of 4 shared -> 0.75; rouge-score itself sees no tokens -> 0.
        assertEquals(0.75, Rouge.builder().rougeTypes("rouge1").cjk(true).build().score("我喜欢猫", "我喜欢狗").get("rouge1").fmeasure(), TOL);
        assertEquals(0.0, Rouge.builder().rougeTypes("rouge1").build().score("我喜欢猫", "我喜欢狗").get("rouge1").fmeasure(), TOL);
    }

    @Test
    void porterStemmerAsNltk() {
        Map<String, String> expected = Map.ofEntries(
                Map.entry("caresses", "caress"), Map.entry("ponies", "poni"), Map.entry("ties", "tie"),
                Map.entry("cats", "cat"), Map.entry("agreed", "agre"), Map.entry("conflated", "conflat"),
                Map.entry("hopping", "hop"), Map.entry("filing", "file"), Map.entry("happy", "happi"),
                Map.entry("relational", "relat"), Map.entry("running", "run"), Map.entry("flies", "fli"),
                Map.entry("died", "die"), Map.entry("meetings", "meet"), Map.entry("generalizations", "gener"),
                Map.entry("skies", "sky"), Map.entry("enjoy", "enjoy"), Map.entry("dying", "die"),
                Map.entry("falling", "fall"), Map.entry("quickly", "quickli"));
        expected.forEach((word, stem) -> assertEquals(stem, PorterStemmer.stem(word), word));
    }
}
