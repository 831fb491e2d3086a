package dev.finetune4j.eval.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Google rouge-score's default tokenizer: lowercase, every character outside {@code [a-z0-9]} becomes a
 * separator, and with the stemmer every token longer than three characters goes through
 * {@link PorterStemmer}. Non-Latin text therefore disappears, which is why rouge-score gives 0 on Chinese.
 *
 * <p>With {@code cjk} (our documented extension, not in rouge-score) every Han, Hiragana, Katakana and
 * Hangul character is also a token of its own, so Chinese, Japanese and Korean text is scored on characters
 * while Latin words and digits are tokenized exactly as rouge-score does.
 *
 * @param useStemmer apply the Porter stemmer to tokens longer than three characters
 * @param cjk        keep CJK characters as one-character tokens
 */
public record RougeTokenizer(boolean useStemmer, boolean cjk) {

    /**
     * The tokens of {@code text}. Thread-safe.
     *
     * @param text the text
     * @return the lowercased alphanumeric tokens (and CJK characters with {@code cjk}), stemmed with {@code useStemmer}
     */
    public List<String> tokenize(String text) {
        String lower = PyText.lower(text);
        List<String> out = new ArrayList<>();
        int n = lower.length();
        int i = 0;
        while (i < n) {
            char c = lower.charAt(i);
            if (isAlnum(c)) {
                int start = i;
                while (i < n && isAlnum(lower.charAt(i))) {
                    i++;
                }
                String token = lower.substring(start, i);
                out.add(useStemmer && token.length() > 3 ? PorterStemmer.stem(token) : token);
                continue;
            }
            int cp = lower.codePointAt(i);
            if (cjk && isCjk(cp)) {
                out.add(Character.toString(cp));
            }
            i += Character.charCount(cp);
        }
        return out;
    }

    private static boolean isAlnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    /**
     * Han, Hiragana, Katakana and Hangul code points.
     *
     * @param cp a Unicode code point
     * @return whether it belongs to one of those scripts
     */
    public static boolean isCjk(int cp) {
        Character.UnicodeScript s = Character.UnicodeScript.of(cp);
        return s == Character.UnicodeScript.HAN || s == Character.UnicodeScript.HIRAGANA
                || s == Character.UnicodeScript.KATAKANA || s == Character.UnicodeScript.HANGUL;
    }
}
