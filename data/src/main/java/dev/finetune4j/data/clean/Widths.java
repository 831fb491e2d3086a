package dev.finetune4j.data.clean;

import java.text.Normalizer;

/**
 * NFKC normalization that keeps Chinese punctuation. Plain NFKC folds full-width letters and digits to ASCII,
 * which is wanted, but also folds {@code ，。！？：；（）} to ASCII, which is wrong inside Chinese sentences.
 * So full-width punctuation next to a CJK character is kept; everything else is normalized.
 */
final class Widths {
    private Widths() {
    }

    static String nfkc(String s, boolean keepCjkPunctuation) {
        if (!keepCjkPunctuation) {
            return Normalizer.normalize(s, Normalizer.Form.NFKC);
        }
        boolean[] cjkBefore = nearestIsCjk(s, -1);
        boolean[] cjkAfter = nearestIsCjk(s, +1);
        StringBuilder out = new StringBuilder(s.length());
        int segment = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isFullWidthPunctuation(c) && (cjkBefore[i] || cjkAfter[i])) {
                out.append(Normalizer.normalize(s.subSequence(segment, i), Normalizer.Form.NFKC)).append(c);
                segment = i + 1;
            }
        }
        if (segment == 0) {
            return Normalizer.normalize(s, Normalizer.Form.NFKC);
        }
        return out.append(Normalizer.normalize(s.subSequence(segment, s.length()), Normalizer.Form.NFKC)).toString();
    }

    /** Full-width forms block (U+FF01-FF5E) minus letters and digits. */
    static boolean isFullWidthPunctuation(char c) {
        return c >= '\uFF01' && c <= '\uFF5E' && !Character.isLetterOrDigit(c);
    }

    /**
     * For each position, whether the nearest character in direction {@code dir} that is not a space, full-width
     * punctuation or a surrogate is CJK. One pass, so a run of punctuation costs linear time, not quadratic.
     */
    private static boolean[] nearestIsCjk(String s, int dir) {
        boolean[] out = new boolean[s.length()];
        boolean cjk = false;
        for (int k = 0; k < s.length(); k++) {
            int i = dir < 0 ? k : s.length() - 1 - k;
            out[i] = cjk;
            char c = s.charAt(i);
            if (!Character.isWhitespace(c) && !isFullWidthPunctuation(c) && !Character.isSurrogate(c)) {
                cjk = Scripts.isCjk(c);
            }
        }
        return out;
    }
}
