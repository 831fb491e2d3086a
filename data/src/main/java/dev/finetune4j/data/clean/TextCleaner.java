package dev.finetune4j.data.clean;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.util.Map;
import java.util.Objects;

/**
 * Normalizes every text value of a record (HTML, Unicode, control characters, whitespace), in that order.
 * Stateless and thread-safe. Also usable on plain strings through {@link #clean(String)}.
 */
public final class TextCleaner implements Step.Stateless {
    /** Which cleaning operations run. */
    private final CleanConfig config;

    /**
     * A cleaner with the given options.
     *
     * @param config which cleaning operations run
     */
    public TextCleaner(CleanConfig config) {
        this.config = config;
    }

    /**
     * A cleaner with every option on.
     *
     * @return {@code new TextCleaner(CleanConfig.defaults())}
     */
    public static TextCleaner defaults() {
        return new TextCleaner(CleanConfig.defaults());
    }

    @Override
    public String name() {
        return "clean";
    }

    @Override
    public Map<String, Object> params() {
        return config.params();
    }

    @Override
    public Outcome apply(Record record) {
        return Outcome.keepOrChange(record, record.mapTexts(this::clean), "cleaned");
    }

    /**
     * Cleans one string.
     *
     * @param s the string
     * @return the cleaned string
     */
    public String clean(String s) {
        String out = Objects.requireNonNull(s, "text to clean");
        if (config.stripHtml()) {
            out = Html.strip(out);
        }
        if (config.nfkc()) {
            out = Widths.nfkc(out, config.keepCjkPunctuation());
        }
        if (config.removeControl() || config.normalizeWhitespace()) {
            out = whitespaceAndControl(out);
        }
        return out;
    }

    private String whitespaceAndControl(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        int newlines = 0;
        boolean space = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (config.removeControl() && isRemovable(cp)) {
                continue;
            }
            if (!config.normalizeWhitespace()) {
                sb.appendCodePoint(cp);
            } else if (cp == '\n') {
                trimTrailingSpace(sb);
                newlines++;
                space = false;
            } else if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                space = true;
            } else {
                if (newlines > 0 && !sb.isEmpty()) {
                    sb.append(newlines > 1 ? "\n\n" : "\n");
                } else if (space && !sb.isEmpty()) {
                    sb.append(' ');
                }
                newlines = 0;
                space = false;
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    private static void trimTrailingSpace(StringBuilder sb) {
        while (!sb.isEmpty() && sb.charAt(sb.length() - 1) == ' ') {
            sb.setLength(sb.length() - 1);
        }
    }

    /** Control characters other than newline and tab, and invisible format characters (zero-width, BOM). */
    private static boolean isRemovable(int cp) {
        if (cp == '\n' || cp == '\t' || cp == '\r') {
            return cp == '\r';
        }
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT && cp != 0x200D;
    }
}
