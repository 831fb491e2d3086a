package dev.finetune4j.data.pii;

/**
 * Maps look-alike characters to ASCII one for one, so that rules written for ASCII also find
 * {@code １３８１２３４５６７８} or {@code ａ＠ｂ．ｃｎ} in text that was not cleaned first. The result has the same
 * length as the input, so a match's offsets are valid in the original text.
 */
final class WidthFolding {
    private WidthFolding() {
    }

    /** Full-width forms (U+FF01-FF5E) to ASCII, wide and no-break spaces to a space, dashes and minus to '-'. */
    static String fold(String s) {
        char[] out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char f = fold(c);
            if (f != c) {
                if (out == null) {
                    out = s.toCharArray();
                }
                out[i] = f;
            }
        }
        return out == null ? s : new String(out);
    }

    private static char fold(char c) {
        if (c >= '\uFF01' && c <= '\uFF5E') {
            return (char) (c - 0xFEE0);
        }
        return switch (c) {
            case '\u3000', '\u00A0', '\u2007', '\u202F' -> ' ';
            case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212', '\uFE63' -> '-';
            default -> c;
        };
    }
}
