package dev.finetune4j.eval.text;

/**
 * The four substitutions of mteval-v13a that sacreBLEU applies after its 13a and zh pre-processing
 * (sacreBLEU's {@code TokenizerRegexp}), written as single left-to-right passes that reproduce Python's
 * non-overlapping {@code re.sub} exactly:
 * <ol>
 *   <li><code>([\&#123;-\~\[-\` -\&amp;\(-\+\:-\@\/])</code> becomes {@code " \1 "} (the brace is written as an HTML entity so the Javadoc tags stay balanced);</li>
 *   <li>{@code ([^0-9])([\.,])} becomes {@code "\1 \2 "} (period and comma unless after a digit);</li>
 *   <li>{@code ([\.,])([^0-9])} becomes {@code " \1 \2"} (period and comma unless before a digit);</li>
 *   <li>{@code ([0-9])(-)} becomes {@code "\1 \2 "} (dash after a digit).</li>
 * </ol>
 * The result is not yet split; callers split on Python whitespace. Stateless and thread-safe.
 */
public final class MtevalRegexp {
    private MtevalRegexp() {
    }

    /**
     * Applies the four substitutions in order.
     *
     * @param line one line of text
     * @return the line after the substitutions
     */
    public static String apply(String line) {
        String s = separateSymbols(line);
        if (s.indexOf('.') >= 0 || s.indexOf(',') >= 0) {
            s = periodCommaBeforeNonDigit(periodCommaAfterNonDigit(s));
        }
        return s.indexOf('-') >= 0 ? digitDash(s) : s;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isPeriodOrComma(char c) {
        return c == '.' || c == ',';
    }

    /** The character class of the first rule: ASCII punctuation and symbols except ' , - . and space itself. */
    static boolean isSeparatedSymbol(char c) {
        return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26)
                || (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == '/';
    }

    private static String separateSymbols(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isSeparatedSymbol(c)) {
                b.append(' ').append(c).append(' ');
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String periodCommaAfterNonDigit(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (i + 1 < n && !isDigit(c) && isPeriodOrComma(s.charAt(i + 1))) {
                b.append(c).append(' ').append(s.charAt(i + 1)).append(' ');
                i += 2;
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }

    private static String periodCommaBeforeNonDigit(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (i + 1 < n && isPeriodOrComma(c) && !isDigit(s.charAt(i + 1))) {
                b.append(' ').append(c).append(' ').append(s.charAt(i + 1));
                i += 2;
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }

    private static String digitDash(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (i + 1 < n && isDigit(c) && s.charAt(i + 1) == '-') {
                b.append(c).append(" - ");
                i += 2;
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }
}
