package dev.finetune4j.eval.text;

import java.util.regex.Pattern;

/**
 * sacreBLEU's TER tokenizer ({@code TercomTokenizer}, after tercom's {@code Normalizer.java}): optional
 * lowercasing, optional mteval-style normalization (with CJK splitting when {@code asianSupport}), optional
 * punctuation removal, then whitespace normalization. Immutable and thread-safe.
 *
 * @param normalized    apply tercom's general and western normalization
 * @param noPunct       remove punctuation
 * @param asianSupport  also split or remove CJK characters and punctuation (only with the two options above)
 * @param caseSensitive keep case (TER's default lowercases)
 */
public record TercomTokenizer(boolean normalized, boolean noPunct, boolean asianSupport, boolean caseSensitive) {
    private static final int FLAGS = Pattern.UNIX_LINES;
    private static final String ASIAN_PUNCT = "([\\u3001\\u3002\\u3008-\\u3011\\u3014-\\u301f\\uff61-\\uff65\\u30fb])";
    private static final String FULL_WIDTH_PUNCT = "([\\uff0e\\uff0c\\uff1f\\uff1a\\uff1b\\uff01\\uff02\\uff08\\uff09])";
    private static final Pattern[] WESTERN = {
        Pattern.compile("([{-~\\[-` -&(-+:-@/])", FLAGS),
        Pattern.compile("'s ", FLAGS),
        Pattern.compile("'s$", FLAGS),
        Pattern.compile("([^0-9])([\\.,])", FLAGS),
        Pattern.compile("([\\.,])([^0-9])", FLAGS),
        Pattern.compile("([0-9])(-)", FLAGS),
    };
    private static final String[] WESTERN_REPL = {" $1 ", " 's ", " 's", "$1 $2 ", " $1 $2", "$1 $2 "};
    private static final Pattern[] ASIAN = {
        Pattern.compile("([\\u4e00-\\u9fff\\u3400-\\u4dbf])", FLAGS),
        Pattern.compile("([\\u31c0-\\u31ef\\u2e80-\\u2eff])", FLAGS),
        Pattern.compile("([\\u3300-\\u33ff\\uf900-\\ufaff\\ufe30-\\ufe4f])", FLAGS),
        Pattern.compile("([\\u3200-\\u3f22])", FLAGS),
        Pattern.compile("(^|^[\\u3040-\\u309f])([\\u3040-\\u309f]+)(?=$|^[\\u3040-\\u309f])", FLAGS),
        Pattern.compile("(^|^[\\u30a0-\\u30ff])([\\u30a0-\\u30ff]+)(?=$|^[\\u30a0-\\u30ff])", FLAGS),
        Pattern.compile("(^|^[\\u31f0-\\u31ff])([\\u31f0-\\u31ff]+)(?=$|^[\\u31f0-\\u31ff])", FLAGS),
        Pattern.compile(ASIAN_PUNCT, FLAGS),
        Pattern.compile(FULL_WIDTH_PUNCT, FLAGS),
    };
    private static final String[] ASIAN_REPL = {" $1 ", " $1 ", " $1 ", " $1 ", "$1 $2 ", "$1 $2 ", "$1 $2 ", " $1 ", " $1 "};
    private static final Pattern PUNCT = Pattern.compile("[\\.,\\?:;!\"\\(\\)]", FLAGS);
    private static final Pattern ASIAN_PUNCT_ALL = Pattern.compile(ASIAN_PUNCT + "|" + FULL_WIDTH_PUNCT, FLAGS);

    /**
     * The tokenized sentence, tokens joined by single spaces.
     *
     * @param sentence the sentence
     * @return the tokens joined by single spaces
     */
    public String apply(String sentence) {
        if (sentence.isEmpty()) {
            return "";
        }
        String s = caseSensitive ? sentence : PyText.lower(sentence);
        if (normalized) {
            s = s.replace("\n-", "").replace("\n", " ").replace("&quot;", "\"").replace("&amp;", "&")
                    .replace("&lt;", "<").replace("&gt;", ">");
            s = replaceAll(" " + s + " ", WESTERN, WESTERN_REPL);
            if (asianSupport) {
                s = replaceAll(s, ASIAN, ASIAN_REPL);
            }
        }
        if (noPunct) {
            s = PUNCT.matcher(s).replaceAll("");
            if (asianSupport) {
                s = ASIAN_PUNCT_ALL.matcher(s).replaceAll("");
            }
        }
        return String.join(" ", PyText.split(s));
    }

    private static String replaceAll(String s, Pattern[] patterns, String[] replacements) {
        for (int k = 0; k < patterns.length; k++) {
            s = patterns[k].matcher(s).replaceAll(replacements[k]);
        }
        return s;
    }
}
