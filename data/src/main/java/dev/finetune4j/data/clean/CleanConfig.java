package dev.finetune4j.data.clean;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link TextCleaner} does to every text value.
 *
 * @param nfkc                Unicode NFKC (full-width letters and digits to half-width, compatibility forms folded)
 * @param keepCjkPunctuation  with NFKC, keep full-width punctuation ({@code ，。！？}) next to CJK characters
 * @param stripHtml           remove tags, comments, script/style blocks; decode entities
 * @param removeControl       remove control and zero-width format characters (keeps newline and tab)
 * @param normalizeWhitespace collapse runs of spaces, trim lines, at most one blank line in a row
 */
public record CleanConfig(boolean nfkc, boolean keepCjkPunctuation, boolean stripHtml, boolean removeControl,
                          boolean normalizeWhitespace) implements Serializable {
    /**
     * Everything on.
     *
     * @return a configuration with every option true
     */
    public static CleanConfig defaults() {
        return new CleanConfig(true, true, true, true, true);
    }

    Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("nfkc", nfkc);
        p.put("keepCjkPunctuation", keepCjkPunctuation);
        p.put("stripHtml", stripHtml);
        p.put("removeControl", removeControl);
        p.put("normalizeWhitespace", normalizeWhitespace);
        return p;
    }
}
