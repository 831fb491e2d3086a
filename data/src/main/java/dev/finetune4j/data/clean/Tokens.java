package dev.finetune4j.data.clean;

/**
 * Splits text into tokens and hashes each to 64 bits without allocating strings: a token is a run of letters or
 * digits (lower-cased) in space-separated scripts, or a single CJK character. Thread-safe (stateless).
 */
public final class Tokens {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Tokens() {
    }

    /** Receives token hashes in text order. */
    @FunctionalInterface
    public interface Sink {
        /**
         * Receives one token.
         *
         * @param hash the token's 64-bit hash
         */
        void token(long hash);
    }

    /**
     * Feeds the hash of every token of {@code text} to {@code sink}.
     *
     * @param text the text
     * @param sink receives each token's hash
     * @return the number of tokens
     */
    public static int hashes(CharSequence text, Sink sink) {
        int count = 0;
        long h = FNV_OFFSET;
        boolean inWord = false;
        for (int i = 0; i < text.length(); ) {
            int cp = Character.codePointAt(text, i);
            i += Character.charCount(cp);
            boolean cjk = cp >= 0x2E80 && Scripts.isCjk(cp);
            if (!cjk && Character.isLetterOrDigit(cp)) {
                h = (h ^ Character.toLowerCase(cp)) * FNV_PRIME;
                inWord = true;
                continue;
            }
            if (inWord) {
                sink.token(mix(h));
                count++;
                h = FNV_OFFSET;
                inWord = false;
            }
            if (cjk) {
                sink.token(mix((FNV_OFFSET ^ cp) * FNV_PRIME));
                count++;
            }
        }
        if (inWord) {
            sink.token(mix(h));
            count++;
        }
        return count;
    }

    /**
     * Number of tokens of {@code text}.
     *
     * @param text the text
     * @return the number of tokens
     */
    public static int count(CharSequence text) {
        return hashes(text, h -> { });
    }

    /**
     * MurmurHash3's 64-bit finalizer: spreads every input bit over the output.
     *
     * @param k the value to mix
     * @return the mixed value
     */
    public static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
