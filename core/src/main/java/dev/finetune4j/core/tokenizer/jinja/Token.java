package dev.finetune4j.core.tokenizer.jinja;

/**
 * One lexed piece of a template.
 *
 * @param kind what it is
 * @param text the text (a string literal already unescaped)
 * @param line 1-based line
 * @param column 1-based column
 */
record Token(Kind kind, String text, int line, int column) {
    enum Kind { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    boolean is(Kind k, String t) {
        return kind == k && text.equals(t);
    }

    String describe() {
        return switch (kind) {
            case EOF -> "end of template";
            case TEXT -> "text";
            case STRING -> "a string";
            default -> "'" + text + "'";
        };
    }
}
