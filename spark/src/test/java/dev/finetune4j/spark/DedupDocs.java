package dev.finetune4j.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * shared/bench/corpora.py's {@code dedup_docs} regenerated in Java, document for document (the same Mersenne
 * Twister draws, see {@link PythonRandom}): Zipf-distributed pseudo-words, originals of 50-200 words, and planted
 * near-duplicates of random originals with 0.5-2% of their words substituted, deleted or inserted, all shuffled.
 * The full corpus is {@code generate(200_000, 20_000)}.
 */
public final class DedupDocs {
    private static final String[] FUNCTION_WORDS = ("the of and to a in is that it was for on are with as be at by"
            + " this have from or had not but what all were when we there can an your which their said if do will"
            + " each about how up out them then she many some so these would other into has more her two like him"
            + " see time could no make than first been its who now people my made over did down only way find use"
            + " may water long little very after words called just where most know").split(" ");
    private static final String[] ONSETS = {"", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r",
        "s", "t", "v", "w", "z", "br", "cr", "dr", "fr", "gr", "pr", "tr", "bl", "cl", "fl", "gl", "pl", "sl", "st",
        "sp", "sk", "sh", "ch", "th", "wh", "str"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "ie", "y"};
    private static final String[] CODAS = {"", "", "", "", "n", "r", "s", "t", "l", "m", "nd", "nt", "st", "rk",
        "ck", "ng", "sh", "th", "x"};
    private static final String[] SUFFIXES = {"", "s", "ed", "ing", "ly", "er", "tion", "ness", "ment", "able",
        "ies", "est", "ful", "ize", "ational"};
    private static final double[] SUFFIX_WEIGHTS = {50, 10, 6, 6, 4, 4, 3, 2, 2, 2, 1, 1, 1, 1, 1};
    private static final int VOCAB_SEED = 3001;
    private static final int DOC_SEED = 3002;
    private static final int VOCAB_SIZE = 50_000;

    /**
     * One document.
     *
     * @param id      its position in the corpus
     * @param cluster the original it belongs to (its own index for an original)
     * @param dup     whether it is a planted near-duplicate
     * @param text    the words, space-separated
     */
    public record Doc(int id, int cluster, boolean dup, String text) {
    }

    private DedupDocs() {
    }

    /**
     * {@code gen_dedup_docs(n, n_dups)}.
     *
     * @param n     documents in all
     * @param nDups planted near-duplicates among them
     * @return the documents in corpus order
     */
    public static List<Doc> generate(int n, int nDups) {
        String[] vocab = vocabulary();
        double[] cum = new double[vocab.length];
        double total = 0;
        for (int r = 0; r < vocab.length; r++) {
            total += 1.0 / ((r + 1) + 2.7);
            cum[r] = total;
        }
        PythonRandom rng = new PythonRandom(DOC_SEED);
        int nOrig = n - nDups;
        List<List<String>> words = new ArrayList<>(n);
        int[] cluster = new int[n];
        for (int c = 0; c < nOrig; c++) {
            int len = rng.randint(50, 200);
            List<String> w = new ArrayList<>(len);
            for (int i = 0; i < len; i++) {
                w.add(draw(vocab, cum, total, rng));
            }
            words.add(w);
            cluster[c] = c;
        }
        for (int d = 0; d < nDups; d++) {
            int src = rng.below(nOrig);
            List<String> w = new ArrayList<>(words.get(src));
            int edits = Math.max(1, (int) Math.rint(w.size() * rng.uniform(0.005, 0.02)));
            for (int e = 0; e < edits; e++) {
                int op = rng.below(3);
                if (op == 0) {
                    // NOTE: Python evaluates the right-hand side of w[randrange(...)] = draw() first
                    String word = draw(vocab, cum, total, rng);
                    w.set(rng.below(w.size()), word);
                } else if (op == 1 && w.size() > 50) {
                    w.remove(rng.below(w.size()));
                } else {
                    w.add(rng.below(w.size() + 1), draw(vocab, cum, total, rng));
                }
            }
            words.add(w);
            cluster[nOrig + d] = src;
        }
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        rng.shuffle(order);
        List<Doc> docs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int j = order.get(i);
            docs.add(new Doc(i, cluster[j], j >= nOrig, String.join(" ", words.get(j))));
        }
        return docs;
    }

    private static String draw(String[] vocab, double[] cum, double total, PythonRandom rng) {
        double x = rng.random() * total;
        int i = Arrays.binarySearch(cum, x);
        // bisect_right: the first index whose value is greater than x
        i = i >= 0 ? i + 1 : -i - 1;
        return vocab[Math.min(i, vocab.length - 1)];
    }

    private static String[] vocabulary() {
        PythonRandom rng = new PythonRandom(VOCAB_SEED);
        Set<String> seen = new HashSet<>(Arrays.asList(FUNCTION_WORDS));
        List<String> words = new ArrayList<>();
        while (words.size() < VOCAB_SIZE - FUNCTION_WORDS.length) {
            int syllables = weighted(rng, new double[] {45, 40, 15}) + 1;
            StringBuilder stem = new StringBuilder();
            for (int s = 0; s < syllables; s++) {
                stem.append(ONSETS[rng.below(ONSETS.length)]).append(VOWELS[rng.below(VOWELS.length)])
                        .append(CODAS[rng.below(CODAS.length)]);
            }
            String w = stem + SUFFIXES[weighted(rng, SUFFIX_WEIGHTS)];
            if (w.length() < 2 || !seen.add(w)) {
                continue;
            }
            words.add(w);
        }
        rng.shuffle(words);
        List<String> all = new ArrayList<>(Arrays.asList(FUNCTION_WORDS));
        all.addAll(words);
        return all.toArray(String[]::new);
    }

    /** corpora.py's {@code weighted_choice}: the index drawn. */
    private static int weighted(PythonRandom rng, double[] weights) {
        double sum = 0;
        for (double w : weights) {
            sum += w;
        }
        double x = rng.random() * sum;
        for (int i = 0; i < weights.length; i++) {
            x -= weights[i];
            if (x < 0) {
                return i;
            }
        }
        return weights.length - 1;
    }
}
