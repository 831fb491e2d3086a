package dev.finetune4j.eval.text;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The Porter stemmer exactly as NLTK's {@code PorterStemmer()} runs by default (mode
 * {@code NLTK_EXTENSIONS}), which is what Google's rouge-score uses with {@code use_stemmer=True}: Porter
 * (1980) with Martin Porter's later changes ({@code bli -> ble}, {@code logi -> log}) and NLTK's own
 * (irregular forms, {@code ies/ied} on four-letter words, {@code y -> i} only after a consonant, the
 * {@code alli} and {@code fulli} rules, words of at most two letters left alone). Stateless and thread-safe.
 */
public final class PorterStemmer {
    private static final Map<String, String> IRREGULAR = Map.ofEntries(
            Map.entry("sky", "sky"), Map.entry("skies", "sky"), Map.entry("dying", "die"), Map.entry("lying", "lie"),
            Map.entry("tying", "tie"), Map.entry("news", "news"), Map.entry("innings", "inning"),
            Map.entry("inning", "inning"), Map.entry("outings", "outing"), Map.entry("outing", "outing"),
            Map.entry("cannings", "canning"), Map.entry("canning", "canning"), Map.entry("howe", "howe"),
            Map.entry("proceed", "proceed"), Map.entry("exceed", "exceed"), Map.entry("succeed", "succeed"));

    private static final Predicate<String> M_POSITIVE = s -> measure(s) > 0;
    private static final Predicate<String> M_ABOVE_ONE = s -> measure(s) > 1;
    private static final Predicate<String> ALWAYS = s -> true;

    private static final List<Rule> STEP1A = List.of(
            new Rule("sses", "ss", ALWAYS), new Rule("ies", "i", ALWAYS), new Rule("ss", "ss", ALWAYS), new Rule("s", "", ALWAYS));
    private static final List<Rule> STEP1C = List.of(
            new Rule("y", "i", s -> s.length() > 1 && isConsonant(s, s.length() - 1)));
    private static final List<Rule> STEP2 = List.of(
            new Rule("ational", "ate", M_POSITIVE), new Rule("tional", "tion", M_POSITIVE),
            new Rule("enci", "ence", M_POSITIVE), new Rule("anci", "ance", M_POSITIVE), new Rule("izer", "ize", M_POSITIVE),
            new Rule("bli", "ble", M_POSITIVE), new Rule("alli", "al", M_POSITIVE), new Rule("entli", "ent", M_POSITIVE),
            new Rule("eli", "e", M_POSITIVE), new Rule("ousli", "ous", M_POSITIVE), new Rule("ization", "ize", M_POSITIVE),
            new Rule("ation", "ate", M_POSITIVE), new Rule("ator", "ate", M_POSITIVE), new Rule("alism", "al", M_POSITIVE),
            new Rule("iveness", "ive", M_POSITIVE), new Rule("fulness", "ful", M_POSITIVE),
            new Rule("ousness", "ous", M_POSITIVE), new Rule("aliti", "al", M_POSITIVE), new Rule("iviti", "ive", M_POSITIVE),
            new Rule("biliti", "ble", M_POSITIVE), new Rule("fulli", "ful", M_POSITIVE),
            // NOTE: NLTK tests the measure of the word minus "ogi" (stem + "l"), not of the stem.
            new Rule("logi", "log", s -> measure(s + "l") > 0));
    private static final List<Rule> STEP3 = List.of(
            new Rule("icate", "ic", M_POSITIVE), new Rule("ative", "", M_POSITIVE), new Rule("alize", "al", M_POSITIVE),
            new Rule("iciti", "ic", M_POSITIVE), new Rule("ical", "ic", M_POSITIVE), new Rule("ful", "", M_POSITIVE),
            new Rule("ness", "", M_POSITIVE));
    private static final List<Rule> STEP4 = List.of(
            new Rule("al", "", M_ABOVE_ONE), new Rule("ance", "", M_ABOVE_ONE), new Rule("ence", "", M_ABOVE_ONE),
            new Rule("er", "", M_ABOVE_ONE), new Rule("ic", "", M_ABOVE_ONE), new Rule("able", "", M_ABOVE_ONE),
            new Rule("ible", "", M_ABOVE_ONE), new Rule("ant", "", M_ABOVE_ONE), new Rule("ement", "", M_ABOVE_ONE),
            new Rule("ment", "", M_ABOVE_ONE), new Rule("ent", "", M_ABOVE_ONE),
            new Rule("ion", "", s -> measure(s) > 1 && (s.endsWith("s") || s.endsWith("t"))),
            new Rule("ou", "", M_ABOVE_ONE), new Rule("ism", "", M_ABOVE_ONE), new Rule("ate", "", M_ABOVE_ONE),
            new Rule("iti", "", M_ABOVE_ONE), new Rule("ous", "", M_ABOVE_ONE), new Rule("ive", "", M_ABOVE_ONE),
            new Rule("ize", "", M_ABOVE_ONE));

    /** A suffix rule: the first rule whose suffix matches decides, whether or not its condition holds. */
    private record Rule(String suffix, String replacement, Predicate<String> condition) {
    }

    private PorterStemmer() {
    }

    /**
     * The stem of {@code word} (lowercased first, like NLTK's default).
     *
     * @param word one word
     * @return its Porter stem
     */
    public static String stem(String word) {
        String w = word.toLowerCase(Locale.ROOT);
        String irregular = IRREGULAR.get(w);
        if (irregular != null) {
            return irregular;
        }
        if (w.length() <= 2) {
            return w;
        }
        w = step1a(w);
        w = step1b(w);
        w = apply(w, STEP1C);
        w = step2(w);
        w = apply(w, STEP3);
        w = apply(w, STEP4);
        w = step5a(w);
        return step5b(w);
    }

    private static String apply(String word, List<Rule> rules) {
        for (Rule r : rules) {
            if (word.endsWith(r.suffix)) {
                String stem = word.substring(0, word.length() - r.suffix.length());
                return r.condition.test(stem) ? stem + r.replacement : word;
            }
        }
        return word;
    }

    private static String step1a(String w) {
        if (w.endsWith("ies") && w.length() == 4) {
            return w.substring(0, 1) + "ie";
        }
        return apply(w, STEP1A);
    }

    private static String step1b(String w) {
        if (w.endsWith("ied")) {
            return w.substring(0, w.length() - 3) + (w.length() == 4 ? "ie" : "i");
        }
        if (w.endsWith("eed")) {
            String stem = w.substring(0, w.length() - 3);
            return measure(stem) > 0 ? stem + "ee" : w;
        }
        String stem;
        if (w.endsWith("ed") && containsVowel(w.substring(0, w.length() - 2))) {
            stem = w.substring(0, w.length() - 2);
        } else if (w.endsWith("ing") && containsVowel(w.substring(0, w.length() - 3))) {
            stem = w.substring(0, w.length() - 3);
        } else {
            return w;
        }
        if (stem.endsWith("at") || stem.endsWith("bl") || stem.endsWith("iz")) {
            return stem + "e";
        }
        if (endsDoubleConsonant(stem)) {
            char last = stem.charAt(stem.length() - 1);
            return last == 'l' || last == 's' || last == 'z' ? stem : stem.substring(0, stem.length() - 1);
        }
        return measure(stem) == 1 && endsCvc(stem) ? stem + "e" : stem;
    }

    private static String step2(String w) {
        if (w.endsWith("alli") && measure(w.substring(0, w.length() - 4)) > 0) {
            return step2(w.substring(0, w.length() - 4) + "al");
        }
        return apply(w, STEP2);
    }

    private static String step5a(String w) {
        if (w.endsWith("e")) {
            String stem = w.substring(0, w.length() - 1);
            int m = measure(stem);
            if (m > 1 || (m == 1 && !endsCvc(stem))) {
                return stem;
            }
        }
        return w;
    }

    private static String step5b(String w) {
        if (w.endsWith("ll") && measure(w.substring(0, w.length() - 1)) > 1) {
            return w.substring(0, w.length() - 1);
        }
        return w;
    }

    private static boolean isConsonant(String w, int i) {
        char c = w.charAt(i);
        if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') {
            return false;
        }
        if (c == 'y') {
            return i == 0 || !isConsonant(w, i - 1);
        }
        return true;
    }

    /** Porter's m: the number of vowel-consonant transitions in [C](VC){m}[V]. */
    static int measure(String stem) {
        int m = 0;
        boolean prevVowel = false;
        for (int i = 0; i < stem.length(); i++) {
            boolean consonant = isConsonant(stem, i);
            if (consonant && prevVowel) {
                m++;
            }
            prevVowel = !consonant;
        }
        return m;
    }

    private static boolean containsVowel(String stem) {
        for (int i = 0; i < stem.length(); i++) {
            if (!isConsonant(stem, i)) {
                return true;
            }
        }
        return false;
    }

    private static boolean endsDoubleConsonant(String w) {
        int n = w.length();
        return n >= 2 && w.charAt(n - 1) == w.charAt(n - 2) && isConsonant(w, n - 1);
    }

    /** Porter's *o (consonant-vowel-consonant, last not w/x/y), plus NLTK's two-letter vowel-consonant case. */
    private static boolean endsCvc(String w) {
        int n = w.length();
        if (n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1)) {
            char last = w.charAt(n - 1);
            return last != 'w' && last != 'x' && last != 'y';
        }
        return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1);
    }
}
