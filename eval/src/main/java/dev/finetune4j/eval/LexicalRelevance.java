package dev.finetune4j.eval;

import dev.finetune4j.eval.text.RougeTokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The lexical domain relevance scorer (see {@link DomainRelevance#lexical}). Terms are lowercased words of
 * letters and digits, and for CJK text every character and every pair of adjacent CJK characters. Each term
 * t weighs {@code w(t) = ln P_D(t) - ln P_B(t)} with add-alpha smoothing over the union vocabulary V (plus one
 * unknown term): {@code P(t) = (count(t) + alpha) / (total + alpha * (|V| + 1))}; without a background corpus
 * {@code P_B(t) = 1 / (|V| + 1)}; a term seen in neither corpus weighs {@code unknownTermWeight}
 * (default {@code -ln 2}). A text scores {@code sigmoid(mean of w over its terms)}, 0 for a text without
 * terms. Immutable and thread-safe.
 */
final class LexicalRelevance implements RelevanceScorer {
    private final Map<String, Double> weights;
    private final double unknownTermWeight;

    LexicalRelevance(List<String> domain, List<String> background, double alpha, double unknownTermWeight) {
        if (domain.isEmpty()) {
            throw new IllegalArgumentException("the domain reference corpus is empty; give a few hundred in-domain texts");
        }
        Map<String, Integer> d = counts(domain);
        Map<String, Integer> b = background == null ? Map.of() : counts(background);
        Map<String, Integer> vocab = new HashMap<>(d);
        b.forEach(vocab::putIfAbsent);
        double v = vocab.size() + 1;
        double nD = d.values().stream().mapToLong(Integer::longValue).sum();
        double nB = b.values().stream().mapToLong(Integer::longValue).sum();
        boolean hasBackground = background != null && !background.isEmpty();
        Map<String, Double> w = new HashMap<>();
        for (String t : vocab.keySet()) {
            double pD = (d.getOrDefault(t, 0) + alpha) / (nD + alpha * v);
            double pB = hasBackground ? (b.getOrDefault(t, 0) + alpha) / (nB + alpha * v) : 1 / v;
            w.put(t, Math.log(pD) - Math.log(pB));
        }
        this.weights = Map.copyOf(w);
        this.unknownTermWeight = unknownTermWeight;
    }

    @Override
    public double score(String text) {
        List<String> terms = terms(text);
        if (terms.isEmpty()) {
            return 0.0;
        }
        double sum = 0;
        for (String t : terms) {
            sum += weights.getOrDefault(t, unknownTermWeight);
        }
        return 1 / (1 + Math.exp(-sum / terms.size()));
    }

    /** The weight of one term (the unknown-term weight when unseen). */
    double weight(String term) {
        return weights.getOrDefault(term, unknownTermWeight);
    }

    private static Map<String, Integer> counts(List<String> corpus) {
        Map<String, Integer> c = new HashMap<>();
        for (String text : corpus) {
            for (String t : terms(text)) {
                c.merge(t, 1, Integer::sum);
            }
        }
        return c;
    }

    /**
     * Words of letters and digits, CJK characters and CJK character bigrams. NOTE: the text is NFC-normalized and
     * a combining mark continues the word it follows: otherwise a decomposed "cafe\u0301" would not be "café" and
     * Devanagari or Thai words, whose vowel signs are marks, would fall apart into single consonants.
     */
    static List<String> terms(String text) {
        String s = Normalizer.normalize(text, Normalizer.Form.NFC).toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        int prevCjk = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (RougeTokenizer.isCjk(cp)) {
                flush(word, out);
                out.add(Character.toString(cp));
                if (prevCjk >= 0) {
                    out.add(Character.toString(prevCjk) + Character.toString(cp));
                }
                prevCjk = cp;
            } else {
                prevCjk = -1;
                if (Character.isLetterOrDigit(cp) || (!word.isEmpty() && isMark(cp))) {
                    word.appendCodePoint(cp);
                } else {
                    flush(word, out);
                }
            }
        }
        flush(word, out);
        return out;
    }

    private static boolean isMark(int cp) {
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK;
    }

    private static void flush(StringBuilder word, List<String> out) {
        if (!word.isEmpty()) {
            out.add(word.toString());
            word.setLength(0);
        }
    }
}
