package dev.finetune4j.eval;

import dev.finetune4j.eval.text.PyText;
import dev.finetune4j.eval.text.RougeTokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Extractive-QA exact match and token F1 as the official SQuAD v2.0 script computes them: answers are
 * lowercased, ASCII punctuation removed, the articles a/an/the removed, whitespace collapsed; F1 is the
 * bag-of-tokens overlap; when either side is empty, F1 is 1 if both are, else 0 (SQuAD v1.1 gives the same
 * whenever both are non-empty). With several gold answers, the best one counts.
 *
 * <p>{@link #cjk()} is the variant for Chinese, Japanese and Korean (as the CMRC evaluation does): Unicode
 * punctuation (all {@code P*} categories, e.g. {@code ，。！}) is removed as well and every CJK character is a
 * token, so partial Chinese answers get partial credit.
 *
 * <pre>{@code
 * QaScore s = QaMetrics.squad().score(predictions, goldAnswers);
 * double f1 = QaMetrics.cjk().f1("北京大学", List.of("北京"));   // 2/3
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class QaMetrics {
    /**
     * The SQuAD script's {@code \b(a|an|the)\b}. NOTE: Python's word characters are letters, numbers and
     * {@code _} ({@code str.isalnum}); Java's Unicode {@code \b} also counts combining marks and joiners as word
     * characters, so it kept the "a" of a decomposed "à la carte" (a, U+0300) that Python removes.
     */
    private static final Pattern ARTICLES = Pattern.compile("(?<![\\p{L}\\p{N}_])(a|an|the)(?![\\p{L}\\p{N}_])");
    private static final String ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private final boolean cjk;

    private QaMetrics(boolean cjk) {
        this.cjk = cjk;
    }

    /**
     * SQuAD's normalization and whitespace tokens.
     *
     * @return the metrics of the SQuAD evaluation script
     */
    public static QaMetrics squad() {
        return new QaMetrics(false);
    }

    /**
     * Unicode punctuation removed and CJK characters as tokens.
     *
     * @return metrics for Chinese, Japanese and Korean answers
     */
    public static QaMetrics cjk() {
        return new QaMetrics(true);
    }

    /**
     * SQuAD's {@code normalize_answer} (plus Unicode punctuation removal in CJK mode).
     *
     * @param text an answer
     * @return the text lowercased, without punctuation, articles and extra whitespace
     */
    public String normalize(String text) {
        StringBuilder b = new StringBuilder(text.length());
        PyText.lower(text).codePoints().forEach(cp -> {
            if (!isPunctuation(cp)) {
                b.appendCodePoint(cp);
            }
        });
        String noArticles = ARTICLES.matcher(b).replaceAll(" ");
        return String.join(" ", PyText.split(noArticles));
    }

    private boolean isPunctuation(int cp) {
        if (cp < 128) {
            return ASCII_PUNCT.indexOf(cp) >= 0;
        }
        if (!cjk) {
            return false;
        }
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /**
     * The tokens F1 compares.
     *
     * @param text an answer
     * @return the tokens of the normalized text
     */
    public List<String> tokens(String text) {
        String normalized = normalize(text);
        if (!cjk) {
            return PyText.split(normalized);
        }
        List<String> out = new ArrayList<>();
        for (String word : PyText.split(normalized)) {
            StringBuilder run = new StringBuilder();
            word.codePoints().forEach(cp -> {
                if (RougeTokenizer.isCjk(cp)) {
                    if (!run.isEmpty()) {
                        out.add(run.toString());
                        run.setLength(0);
                    }
                    out.add(Character.toString(cp));
                } else {
                    run.appendCodePoint(cp);
                }
            });
            if (!run.isEmpty()) {
                out.add(run.toString());
            }
        }
        return out;
    }

    /**
     * 1 if the normalized prediction equals a normalized gold answer, else 0.
     *
     * @param prediction the model's answer
     * @param goldAnswers the accepted answers, at least one
     * @return 1.0 or 0.0
     */
    public double exactMatch(String prediction, List<String> goldAnswers) {
        String p = normalize(Segments.hypothesis(prediction, "QaMetrics.exactMatch"));
        return requireAnswers(goldAnswers).stream().anyMatch(g -> normalize(g).equals(p)) ? 1.0 : 0.0;
    }

    /**
     * The best token F1 of the prediction over the gold answers.
     *
     * @param prediction the model's answer
     * @param goldAnswers the accepted answers, at least one
     * @return the F1 in [0, 1]
     */
    public double f1(String prediction, List<String> goldAnswers) {
        List<String> pred = tokens(Segments.hypothesis(prediction, "QaMetrics.f1"));
        double best = 0;
        for (String gold : requireAnswers(goldAnswers)) {
            best = Math.max(best, f1(pred, tokens(gold)));
        }
        return best;
    }

    private static double f1(List<String> pred, List<String> gold) {
        if (pred.isEmpty() || gold.isEmpty()) {
            return pred.equals(gold) ? 1.0 : 0.0;
        }
        Map<String, Integer> goldCounts = new HashMap<>();
        gold.forEach(t -> goldCounts.merge(t, 1, Integer::sum));
        int same = 0;
        for (String t : pred) {
            Integer c = goldCounts.get(t);
            if (c != null && c > 0) {
                same++;
                goldCounts.put(t, c - 1);
            }
        }
        if (same == 0) {
            return 0.0;
        }
        double precision = (double) same / pred.size();
        double recall = (double) same / gold.size();
        return 2 * precision * recall / (precision + recall);
    }

    /**
     * Mean exact match and F1 over questions; {@code goldAnswers.get(i)} are the answers of question i.
     *
     * @param predictions one answer per question
     * @param goldAnswers the accepted answers of each question, as many lists as predictions
     * @return mean exact match and F1
     */
    public QaScore score(List<String> predictions, List<List<String>> goldAnswers) {
        if (predictions == null || goldAnswers == null) {
            throw new IllegalArgumentException("QaMetrics.score: " + (predictions == null ? "predictions" : "goldAnswers")
                    + " is null; pass one prediction and one list of gold answers per question");
        }
        if (predictions.size() != goldAnswers.size() || predictions.isEmpty()) {
            throw new IllegalArgumentException("need one list of gold answers per prediction, at least one; got "
                    + predictions.size() + " predictions and " + goldAnswers.size() + " answer lists");
        }
        double em = 0;
        double f1 = 0;
        for (int i = 0; i < predictions.size(); i++) {
            em += exactMatch(predictions.get(i), goldAnswers.get(i));
            f1 += f1(predictions.get(i), goldAnswers.get(i));
        }
        return new QaScore(em / predictions.size(), f1 / predictions.size(), predictions.size());
    }

    private static List<String> requireAnswers(List<String> goldAnswers) {
        // NOTE: not contains(null), which List.of(...) answers with a NullPointerException
        if (goldAnswers == null || goldAnswers.isEmpty() || goldAnswers.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException((goldAnswers == null ? "gold answers are null" : goldAnswers.isEmpty()
                    ? "no gold answers" : "a gold answer is null") + "; pass List.of(\"\") for an unanswerable question");
        }
        return goldAnswers;
    }
}
