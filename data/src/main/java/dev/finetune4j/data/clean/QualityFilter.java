package dev.finetune4j.data.clean;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.util.Arrays;
import java.util.Map;

/** Drops records whose text fails a {@link QualityConfig} threshold. Stateless and thread-safe. */
public final class QualityFilter implements Step.Stateless {
    /** The thresholds. */
    private final QualityConfig config;

    /**
     * A filter with the given thresholds.
     *
     * @param config the thresholds
     */
    public QualityFilter(QualityConfig config) {
        this.config = config;
    }

    @Override
    public String name() {
        return "quality";
    }

    @Override
    public Map<String, Object> params() {
        return config.params();
    }

    @Override
    public Outcome apply(Record record) {
        String reason = check(record.text());
        return reason == null ? Outcome.keep(record) : Outcome.drop(reason);
    }

    /**
     * The first rule {@code text} fails, or {@code null} when it passes all.
     *
     * @param text the text to check
     * @return the name of the failed rule, or {@code null}
     */
    public String check(String text) {
        int chars = text.codePointCount(0, text.length());
        if (chars < config.minChars()) {
            return "too short (chars)";
        }
        if (chars > config.maxChars()) {
            return "too long (chars)";
        }
        long[] tokens = new long[Math.min(chars, 1 << 20)];
        int[] n = {0};
        Tokens.hashes(text, h -> {
            if (n[0] < tokens.length) {
                tokens[n[0]++] = h;
            }
        });
        if (n[0] < config.minTokens()) {
            return "too few tokens";
        }
        if (n[0] > config.maxTokens()) {
            return "too many tokens";
        }
        if (repetitionRatio(tokens, n[0]) > config.maxRepetitionRatio()) {
            return "repetitive";
        }
        return checkCharacters(text);
    }

    private String checkCharacters(String text) {
        int visible = 0;
        int symbols = 0;
        int letters = 0;
        int cjk = 0;
        int latin = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp)) {
                continue;
            }
            visible++;
            if (Character.isLetter(cp)) {
                letters++;
                cjk += Scripts.isCjk(cp) ? 1 : 0;
                latin += Scripts.isLatin(cp) ? 1 : 0;
            } else if (!Character.isDigit(cp)) {
                symbols++;
            }
        }
        if (visible > 0 && (double) symbols / visible > config.maxSymbolRatio()) {
            return "too many symbols";
        }
        if (config.minCjkShare() > 0 && (letters == 0 || (double) cjk / letters < config.minCjkShare())) {
            return "too little CJK";
        }
        if (config.minLatinShare() > 0 && (letters == 0 || (double) latin / letters < config.minLatinShare())) {
            return "too little Latin";
        }
        return null;
    }

    /** Share of token 3-grams equal to an earlier 3-gram of the same text. */
    static double repetitionRatio(long[] tokens, int n) {
        if (n < 3) {
            return 0;
        }
        long[] grams = new long[n - 2];
        for (int i = 0; i < grams.length; i++) {
            grams[i] = Tokens.mix(tokens[i] * 31 * 31 + tokens[i + 1] * 31 + tokens[i + 2]);
        }
        Arrays.sort(grams);
        int repeats = 0;
        for (int i = 1; i < grams.length; i++) {
            if (grams[i] == grams[i - 1]) {
                repeats++;
            }
        }
        return (double) repeats / grams.length;
    }
}
