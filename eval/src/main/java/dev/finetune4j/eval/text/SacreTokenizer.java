package dev.finetune4j.eval.text;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * sacreBLEU's tokenizers, by their sacreBLEU names: {@code 13a} (mteval-v13a, the default), {@code intl}
 * (mteval-v14 international), {@code zh} (every Chinese character a token, the rest as 13a), {@code char}
 * (every character a token) and {@code none}.
 *
 * <p>{@link #tokens} returns what sacreBLEU's {@code tokenizer(line).split()} returns. Stateless and
 * thread-safe.
 */
public enum SacreTokenizer {
    /** mteval-v13a, as used by WMT. */
    THIRTEEN_A("13a"),
    /** mteval-v14 international: splits Unicode punctuation and symbols. */
    INTL("intl"),
    /** Chinese characters one per token, other text as 13a without its pre-processing. */
    ZH("zh"),
    /** Every non-space character a token. */
    CHAR("char"),
    /** Whitespace split only. */
    NONE("none");

    private final String sacreName;

    SacreTokenizer(String sacreName) {
        this.sacreName = sacreName;
    }

    /**
     * The name sacreBLEU uses for this tokenizer, also its signature value.
     *
     * @return the sacreBLEU name
     */
    public String sacreName() {
        return sacreName;
    }

    /**
     * Looks a tokenizer up by its sacreBLEU name ({@code 13a}, {@code intl}, {@code zh}, {@code char}, {@code none}).
     *
     * @param name one of the names above
     * @return the tokenizer of that name
     */
    public static SacreTokenizer of(String name) {
        for (SacreTokenizer t : values()) {
            if (t.sacreName.equals(name.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown tokenizer '" + name + "'; expected one of "
                + Arrays.stream(values()).map(SacreTokenizer::sacreName).toList()
                + " (ja-mecab, ko-mecab, flores and spm are not supported)");
    }

    /**
     * The tokenized line as sacreBLEU's tokenizer returns it (tokens joined by one space).
     *
     * @param line one line of text
     * @return the tokens joined by single spaces
     */
    public String apply(String line) {
        return String.join(" ", tokens(line));
    }

    /**
     * The tokens of one line.
     *
     * @param line one line of text
     * @return the tokens
     */
    public List<String> tokens(String line) {
        return switch (this) {
            case THIRTEEN_A -> PyText.split(MtevalRegexp.apply(' ' + preprocess13a(line) + ' '));
            case INTL -> PyText.split(IntlTokenizer.apply(line));
            case ZH -> PyText.split(MtevalRegexp.apply(ZhTokenizer.separateChinese(PyText.strip(line))));
            case CHAR -> charTokens(line);
            case NONE -> PyText.split(line);
        };
    }

    private static String preprocess13a(String line) {
        String s = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ");
        if (s.indexOf('&') >= 0) {
            s = s.replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
        }
        return s;
    }

    private static List<String> charTokens(String line) {
        return line.codePoints().filter(cp -> !PyText.isSpace(cp)).mapToObj(Character::toString).toList();
    }
}
