package dev.finetune4j.eval.text;

/**
 * The Chinese-character test of sacreBLEU's {@code zh} tokenizer.
 *
 * <p>NOTE: sacreBLEU writes two of its ranges as {@code u'\u20000'} and {@code u'\u2f800'}, which Python
 * reads as two-character strings; its string comparison then turns them into the code point ranges
 * U+2001..U+2A6D and U+2F81..U+2FA1 (so general punctuation such as curly quotes, the ellipsis and the
 * euro sign counts as "Chinese", and CJK Extension B does not). We reproduce that, since the goal is
 * sacreBLEU's numbers. Stateless and thread-safe.
 */
public final class ZhTokenizer {
    private static final int[][] RANGES = {
        {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A},
        {0xFA70, 0xFAD9}, {0x2001, 0x2A6D}, {0x2F81, 0x2FA1}, {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF},
        {0x3000, 0x303F}, {0x31C0, 0x31EF}, {0x2F00, 0x2FDF}, {0x2FF0, 0x2FFF}, {0x3100, 0x312F},
        {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0x2600, 0x26FF}, {0x2700, 0x27BF},
        {0x3200, 0x32FF}, {0x3300, 0x33FF},
    };

    private ZhTokenizer() {
    }

    /**
     * Whether sacreBLEU's zh tokenizer puts spaces around this code point.
     *
     * @param cp a Unicode code point
     * @return whether it is a Chinese character
     */
    public static boolean isChineseChar(int cp) {
        for (int[] r : RANGES) {
            if (cp >= r[0] && cp <= r[1]) {
                return true;
            }
        }
        return false;
    }

    /** Surrounds every "Chinese" code point with spaces. */
    static String separateChinese(String line) {
        StringBuilder b = new StringBuilder(line.length() * 3);
        line.codePoints().forEach(cp -> {
            if (isChineseChar(cp)) {
                b.append(' ').appendCodePoint(cp).append(' ');
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.toString();
    }
}
