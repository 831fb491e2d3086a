package dev.finetune4j.core.tokenizer.jinja;

import dev.finetune4j.core.tokenizer.jinja.Token.Kind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into text and tag tokens as jinja2's lexer does with transformers' settings:
 * {@code trim_blocks} (the newline after a block or comment tag is dropped), {@code lstrip_blocks} (spaces and
 * tabs before a block or comment tag at the start of a line are dropped), {@code -} and {@code +} whitespace
 * control, {@code {% raw %}}, newlines normalised to {@code \n} and one trailing newline dropped.
 */
final class Lexer {
    private static final Pattern EXPONENT = Pattern.compile("[eE][+-]?\\d+");
    private static final Pattern END_RAW = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*([-+]?)%}");
    private static final List<String> OPERATORS = List.of("//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%",
            "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", ";");

    private final String src;
    private final int[] lineStarts;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private boolean lineStarting = true;

    private Lexer(String source) {
        String normalized = source.replace("\r\n", "\n").replace('\r', '\n');
        this.src = normalized.endsWith("\n") ? normalized.substring(0, normalized.length() - 1) : normalized;
        int[] starts = new int[16];
        int n = 0;
        starts[n++] = 0;
        for (int i = 0; i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                starts = n == starts.length ? Arrays.copyOf(starts, n * 2) : starts;
                starts[n++] = i + 1;
            }
        }
        this.lineStarts = Arrays.copyOf(starts, n);
    }

    static List<Token> lex(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.tokens;
    }

    private void run() {
        while (pos < src.length()) {
            int open = nextOpening(pos);
            if (open < 0) {
                text(src.substring(pos), pos);
                break;
            }
            char kind = src.charAt(open + 1);
            char sign = open + 2 < src.length() ? src.charAt(open + 2) : ' ';
            text(beforeTag(src.substring(pos, open), sign, kind != '{'), pos);
            pos = open + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            if (kind == '#') {
                comment(open);
            } else {
                tag(open, kind == '{');
            }
        }
        tokens.add(token(Kind.EOF, "", src.length()));
    }

    private int nextOpening(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** The text before a tag after that tag's whitespace control: {@code -} strips all, lstrip_blocks the indent. */
    private String beforeTag(String text, char sign, boolean blockOrComment) {
        if (sign == '-') {
            return Py.strip(text, null, false, true);
        }
        if (sign != '+' && blockOrComment) {
            int lineStart = text.lastIndexOf('\n') + 1;
            if ((lineStart > 0 || lineStarting) && text.substring(lineStart).chars().allMatch(c -> c == ' ' || c == '\t')) {
                return text.substring(0, lineStart);
            }
        }
        return text;
    }

    private void text(String text, int at) {
        if (!text.isEmpty()) {
            tokens.add(token(Kind.TEXT, text, at));
        }
    }

    private void comment(int open) {
        int close = src.indexOf("#}", pos);
        if (close < 0) {
            throw error("the comment opened here is never closed; end it with #}", open);
        }
        boolean strip = close > pos && src.charAt(close - 1) == '-';
        pos = close + 2;
        afterTag(strip, true);
    }

    /** After a tag: {@code -} drops all whitespace, trim_blocks one newline after a block or comment tag. */
    private void afterTag(boolean strip, boolean trimNewline) {
        int start = pos;
        if (strip) {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                pos++;
            }
        } else if (trimNewline && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
        }
        lineStarting = pos > start && src.charAt(pos - 1) == '\n';
    }

    private void tag(int open, boolean variable) {
        int first = tokens.size();
        tokens.add(token(variable ? Kind.VAR_BEGIN : Kind.BLOCK_BEGIN, variable ? "{{" : "{%", open));
        int depth = 0;
        while (true) {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                pos++;
            }
            if (pos >= src.length()) {
                throw error("the " + (variable ? "{{" : "{%") + " opened here is never closed; end it with "
                        + (variable ? "}}" : "%}"), open);
            }
            String close = variable ? "}}" : "%}";
            if (depth == 0 && (src.startsWith(close, pos) || src.startsWith("-" + close, pos)
                    || !variable && src.startsWith("+" + close, pos))) {
                char sign = src.charAt(pos);
                tokens.add(token(variable ? Kind.VAR_END : Kind.BLOCK_END, close, pos));
                pos += close.length() + (sign == '-' || sign == '+' ? 1 : 0);
                afterTag(sign == '-', !variable && sign != '+');
                break;
            }
            depth += expressionToken();
        }
        if (!variable && tokens.size() == first + 3 && tokens.get(first + 1).is(Kind.NAME, "raw")) {
            tokens.subList(first, tokens.size()).clear();
            raw(open);
        }
    }

    /** Lexes one token inside a tag; returns the change of bracket depth. */
    private int expressionToken() {
        char c = src.charAt(pos);
        int start = pos;
        if (c == '\'' || c == '"') {
            tokens.add(token(Kind.STRING, string(c), start));
            return 0;
        }
        if (Character.isDigit(c)) {
            number(start);
            return 0;
        }
        if (Character.isLetter(c) || c == '_') {
            while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
            tokens.add(token(Kind.NAME, src.substring(start, pos), start));
            return 0;
        }
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                pos += op.length();
                tokens.add(token(Kind.OP, op, start));
                return "([{".contains(op) ? 1 : ")]}".contains(op) ? -1 : 0;
            }
        }
        throw error("unexpected character '" + c + "' in a tag", start);
    }

    private void number(int start) {
        boolean afterDot = start > 0 && src.charAt(start - 1) == '.';
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        if (!afterDot && pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
        }
        Matcher exp = EXPONENT.matcher(src).region(pos, src.length());
        if (!afterDot && exp.lookingAt()) {
            isFloat = true;
            pos = exp.end();
        }
        tokens.add(token(isFloat ? Kind.FLOAT : Kind.INT, src.substring(start, pos).replace("_", ""), start));
    }

    /** A string literal's value, unescaped as Python's {@code unicode-escape} codec does (jinja2's way). */
    private String string(char quote) {
        int start = pos++;
        StringBuilder sb = new StringBuilder();
        while (pos < src.length() && src.charAt(pos) != quote) {
            char c = src.charAt(pos++);
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case '\n' -> { }
                case '\\', '\'', '"' -> sb.append(e);
                case 'a' -> sb.append('\u0007');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'v' -> sb.append('\u000b');
                case 'x' -> sb.appendCodePoint(hex(2, start));
                case 'u' -> sb.appendCodePoint(hex(4, start));
                case 'U' -> sb.appendCodePoint(hex(8, start));
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '7'; k++) {
                            v = v * 8 + src.charAt(pos++) - '0';
                        }
                        sb.append((char) v);
                    } else {
                        sb.append('\\').append(e);
                    }
                }
            }
        }
        if (pos >= src.length()) {
            throw error("the string opened here is never closed; end it with " + quote, start);
        }
        pos++;
        return sb.toString();
    }

    private int hex(int digits, int stringStart) {
        if (pos + digits > src.length()) {
            throw error("truncated \\x, \\u or \\U escape in the string", stringStart);
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            if (!Character.isValidCodePoint(v)) {
                throw error("the escape \\U" + Integer.toHexString(v) + " is not a Unicode code point", stringStart);
            }
            return v;
        } catch (NumberFormatException e) {
            throw error("malformed \\x, \\u or \\U escape in the string", stringStart);
        }
    }

    /** The body of {@code {% raw %}} as text, up to {@code {% endraw %}}, with both tags' whitespace control. */
    private void raw(int open) {
        Matcher end = END_RAW.matcher(src).region(pos, src.length());
        if (!end.find()) {
            throw error("{% raw %} opened here is never closed; end it with {% endraw %}", open);
        }
        String sign = end.group(1);
        text(beforeTag(src.substring(pos, end.start()), sign.isEmpty() ? ' ' : sign.charAt(0), true), pos);
        pos = end.end();
        afterTag(end.group(2).equals("-"), !end.group(2).equals("+"));
    }

    private Token token(Kind kind, String text, int offset) {
        int line = line(offset);
        return new Token(kind, text, line, offset - lineStarts[line - 1] + 1);
    }

    private int line(int offset) {
        int i = Arrays.binarySearch(lineStarts, offset);
        return i >= 0 ? i + 1 : -i - 1;
    }

    private TemplateException error(String message, int offset) {
        int line = line(offset);
        return new TemplateException("line " + line + ", column " + (offset - lineStarts[line - 1] + 1) + ": " + message, line);
    }
}
