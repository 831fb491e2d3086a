package dev.finetune4j.data.clean;

/**
 * Removes {@code <script>} and {@code <style>} blocks and {@code <!-- -->} comments. Hand-written rather than a
 * lazy regex: an opener without its closer made the regex rescan the rest of the text from every later opener
 * (quadratic). Here, once a closer is missing, no later opener of that kind can close either, so none is searched
 * for again: every character is looked at a bounded number of times.
 */
final class HtmlBlocks {
    private static final String[] BLOCK_NAMES = {"script", "style"};

    private HtmlBlocks() {
    }

    static String remove(String s) {
        StringBuilder out = null;
        int copied = 0;
        boolean commentsClose = true;
        boolean[] blocksClose = {true, true};
        for (int lt = s.indexOf('<'); lt >= 0; ) {
            int end = -1;
            if (s.startsWith("<!--", lt)) {
                int close = commentsClose ? s.indexOf("-->", lt + 4) : -1;
                commentsClose = close >= 0;
                end = close < 0 ? -1 : close + 3;
            } else {
                int kind = blockKind(s, lt);
                if (kind >= 0 && blocksClose[kind]) {
                    end = blockEnd(s, lt, BLOCK_NAMES[kind]);
                    blocksClose[kind] = end >= 0;
                }
            }
            if (end < 0) {
                lt = s.indexOf('<', lt + 1);
                continue;
            }
            if (out == null) {
                out = new StringBuilder(s.length());
            }
            out.append(s, copied, lt);
            copied = end;
            lt = s.indexOf('<', end);
        }
        return out == null ? s : out.append(s, copied, s.length()).toString();
    }

    /** Which block opens at {@code lt} ({@code <script} or {@code <style} followed by a non-word character), or -1. */
    private static int blockKind(String s, int lt) {
        for (int k = 0; k < BLOCK_NAMES.length; k++) {
            String name = BLOCK_NAMES[k];
            int after = lt + 1 + name.length();
            if (s.regionMatches(true, lt + 1, name, 0, name.length())
                    && (after == s.length() || !isWordChar(s.charAt(after)))) {
                return k;
            }
        }
        return -1;
    }

    /** The end of the block opened at {@code lt}: after {@code </name}, optional whitespace and {@code >}; or -1. */
    private static int blockEnd(String s, int lt, String name) {
        int gt = s.indexOf('>', lt);
        if (gt < 0) {
            return -1;
        }
        for (int i = gt + 1; (i = s.indexOf("</", i)) >= 0; i += 2) {
            if (s.regionMatches(true, i + 2, name, 0, name.length())) {
                int j = i + 2 + name.length();
                while (j < s.length() && isRegexSpace(s.charAt(j))) {
                    j++;
                }
                if (j < s.length() && s.charAt(j) == '>') {
                    return j + 1;
                }
            }
        }
        return -1;
    }

    private static boolean isWordChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_';
    }

    /** What {@code \s} matches in a Java regex without the Unicode flag. */
    private static boolean isRegexSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }
}
