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
        StringBuilder out = new StringBuilder(s.length());
        int segment = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isFullWidthPunctuation(c) && nextToCjk(s, i)) {
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

    private static boolean nextToCjk(String s, int i) {
        return neighbour(s, i, -1) || neighbour(s, i, +1);
    }

    /** Whether the nearest non-space, non-punctuation character in direction {@code dir} is CJK. */
    private static boolean neighbour(String s, int i, int dir) {
        for (int j = i + dir; j >= 0 && j < s.length(); j += dir) {
            char c = s.charAt(j);
            if (Character.isWhitespace(c) || isFullWidthPunctuation(c) || Character.isSurrogate(c)) {
                continue;
            }
            return Scripts.isCjk(c);
        }
        return false;
    }
}
