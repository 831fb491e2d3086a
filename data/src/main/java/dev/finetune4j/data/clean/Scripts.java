package dev.finetune4j.data.clean;

/** Character classes used by cleaning, filters and shingling. */
public final class Scripts {
    private Scripts() {
    }

    /**
     * Han ideographs, kana and Hangul: scripts written without spaces between words.
     *
     * @param cp a Unicode code point
     * @return whether it is CJK
     */
    public static boolean isCjk(int cp) {
        Character.UnicodeScript s = Character.UnicodeScript.of(cp);
        return s == Character.UnicodeScript.HAN || s == Character.UnicodeScript.HIRAGANA
                || s == Character.UnicodeScript.KATAKANA || s == Character.UnicodeScript.HANGUL;
    }

    /**
     * Latin letters (any accent).
     *
     * @param cp a Unicode code point
     * @return whether it is a Latin letter
     */
    public static boolean isLatin(int cp) {
        return Character.UnicodeScript.of(cp) == Character.UnicodeScript.LATIN;
    }

    /**
     * Neither letter, digit nor whitespace: punctuation, symbols, emoji.
     *
     * @param cp a Unicode code point
     * @return whether it is a symbol
     */
    public static boolean isSymbol(int cp) {
        return !Character.isLetterOrDigit(cp) && !Character.isWhitespace(cp);
    }

    /**
     * Share of CJK characters among the letters of {@code text}, 0 when it has none.
     *
     * @param text the text
     * @return the share in [0, 1]
     */
    public static double cjkShare(CharSequence text) {
        int letters = 0;
        int cjk = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = Character.codePointAt(text, i);
            i += Character.charCount(cp);
            if (cp < 0x80) {
                letters += (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z' ? 1 : 0;
            } else if (Character.isLetter(cp)) {
                letters++;
                cjk += isCjk(cp) ? 1 : 0;
            }
        }
        return letters == 0 ? 0 : (double) cjk / letters;
    }
}
