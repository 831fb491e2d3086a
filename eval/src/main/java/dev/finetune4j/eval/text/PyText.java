package dev.finetune4j.eval.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Python {@code str} semantics that the reference tools rely on: {@code isspace}, {@code split()},
 * {@code strip()}, {@code rstrip()} and {@code lower()}.
 *
 * <p>NOTE: Java's {@link Character#isWhitespace} differs from Python's {@code str.isspace} (it excludes
 * U+00A0, U+2007, U+202F and U+0085), so a plain {@code String.split("\\s+")} would tokenize differently
 * from sacreBLEU. Stateless and thread-safe.
 */
public final class PyText {
    private PyText() {
    }

    /**
     * Python's {@code str.isspace()} for one code point (bidirectional WS/B/S or category Zs).
     *
     * @param cp a Unicode code point
     * @return whether Python counts it as whitespace
     */
    public static boolean isSpace(int cp) {
        if (cp <= 0x20) {
            return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
        }
        if (cp < 0x85) {
            return false;
        }
        return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    /**
     * Python's {@code s.split()}: runs of whitespace separate, no empty tokens.
     *
     * @param s the text
     * @return the tokens between whitespace runs
     */
    public static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int n = s.length();
        int i = 0;
        while (i < n) {
            while (i < n && isSpace(s.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !isSpace(s.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(s.substring(start, i));
            }
        }
        return out;
    }

    /**
     * Python's {@code s.rstrip()}.
     *
     * @param s the text
     * @return the text without trailing whitespace
     */
    public static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    /**
     * Python's {@code s.strip()}.
     *
     * @param s the text
     * @return the text without leading and trailing whitespace
     */
    public static String strip(String s) {
        String r = rstrip(s);
        int start = 0;
        while (start < r.length() && isSpace(r.charAt(start))) {
            start++;
        }
        return r.substring(start);
    }

    /**
     * Python's {@code s.lower()} (full Unicode lowercase mapping, no locale).
     *
     * @param s the text
     * @return the lowercased text
     */
    public static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    /**
     * Python's {@code ''.join(s.split())}: the text without any whitespace.
     *
     * @param s the text
     * @return the text with all whitespace removed
     */
    public static String removeSpaces(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isSpace(c)) {
                b.append(c);
            }
        }
        return b.toString();
    }
}
