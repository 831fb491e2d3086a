package dev.finetune4j.core.generate.json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a mask needs from a vocabulary, built once per {@link TokenBytes} and shared: the trie of all ordinary
 * tokens, the set of tokens that are plain string content, and tries of the others.
 *
 * <p>Plain string content: every byte is a string character that needs no escape (at least 0x20, not a quote, not
 * a backslash) and the bytes are whole, valid UTF-8 characters (RFC 3629). Inside a string, after a whole
 * character and outside an escape, such a token is allowed exactly when its characters fit under the string's
 * maxLength, whatever the grammar; so there a mask is this set (a word-wise OR, or the OR of the per-length sets
 * that fit) plus a walk of a much smaller trie of the other tokens. In byte-level vocabularies of about 150k
 * tokens, most tokens are plain content. Immutable.
 */
final class TokenIndex {
    /** Plain tokens of up to this many characters are also kept in per-length sets, for strings with maxLength. */
    static final int BUCKETS = 32;

    final TokenTrie all;
    final long[] plain;
    /**
     * The tokens that are not plain content, filed under what follows their plain prefix ({@code abc"} and {@code xy"} both under
     * {@code "}): from a free string (see {@link JsonState#inFreeString}) a plain prefix leaves the state as it was,
     * so such tokens stand or fall together, and this trie is far smaller than one of the tokens themselves.
     */
    final TokenTrie notPlainRests;
    /**
     * The tokens that are not plain content, filed under one byte holding how many characters their plain prefix
     * has (0-254) and then what follows it: inside a string with a length limit, tokens whose prefixes have as many
     * characters reach the same state after them, so the walk goes once per prefix length and rest.
     */
    final TokenTrie notPlainByPrefixChars;
    /** Tokens that are not plain content and whose plain prefix has 255 characters or more (rare). */
    final TokenTrie notPlainLongPrefix;
    /** Tokens that are a quote and then plain content ({@code "name}). */
    final long[] quotePlain;
    /** The other tokens that start with a quote, filed under what follows the quote and its plain prefix. */
    final TokenTrie quoteRests;
    /** byChars[k]: the plain tokens of exactly k characters (code points), k in [1, BUCKETS]. */
    final long[][] byChars;
    /** Plain tokens longer than {@link #BUCKETS} characters, and their lengths. */
    final int[] longIds;
    final int[] longChars;

    TokenIndex(TokenBytes vocab) {
        int words = (vocab.size() + 63) >>> 6;
        plain = new long[words];
        byChars = new long[BUCKETS + 1][words];
        List<int[]> longOnes = new ArrayList<>();
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytesShared(id);
            if (b != null && b.length > 0 && b.length <= TokenTrie.MAX_TOKEN_BYTES && !vocab.isSpecial(id) && isPlainStringContent(b)) {
                plain[id >>> 6] |= 1L << id;
                int chars = 0;
                for (byte x : b) {
                    chars += (x & 0xC0) == 0x80 ? 0 : 1;
                }
                if (chars <= BUCKETS) {
                    byChars[chars][id >>> 6] |= 1L << id;
                } else {
                    longOnes.add(new int[]{id, chars});
                }
            }
        }
        longIds = longOnes.stream().mapToInt(x -> x[0]).toArray();
        longChars = longOnes.stream().mapToInt(x -> x[1]).toArray();
        all = TokenTrie.build(vocab, id -> true);
        quotePlain = new long[words];
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytesShared(id);
            if (b != null && b.length > 1 && b.length <= TokenTrie.MAX_TOKEN_BYTES && b[0] == '"' && !vocab.isSpecial(id)
                    && plainPrefix(b, 1) == b.length) {
                quotePlain[id >>> 6] |= 1L << id;
            }
        }
        quoteRests = TokenTrie.buildByKey(vocab, id -> {
            byte[] b = vocab.bytesShared(id);
            if (b.length < 2 || b[0] != '"' || (quotePlain[id >>> 6] & (1L << id)) != 0) {
                return null;
            }
            return Arrays.copyOfRange(b, plainPrefix(b, 1), b.length);
        });
        notPlainByPrefixChars = TokenTrie.buildByKey(vocab, id -> {
            if (isPlain(id)) {
                return null;
            }
            byte[] b = vocab.bytesShared(id);
            int split = plainPrefix(b, 0);
            int chars = characters(b, 0, split);
            if (chars > 254) {
                return null;
            }
            byte[] key = new byte[1 + b.length - split];
            key[0] = (byte) chars;
            System.arraycopy(b, split, key, 1, b.length - split);
            return key;
        });
        notPlainLongPrefix = TokenTrie.build(vocab, id -> !isPlain(id) && characters(vocab.bytesShared(id), 0,
                plainPrefix(vocab.bytesShared(id), 0)) > 254);
        notPlainRests = TokenTrie.buildByKey(vocab, id -> {
            if (isPlain(id)) {
                return null;
            }
            byte[] b = vocab.bytesShared(id);
            return Arrays.copyOfRange(b, plainPrefix(b, 0), b.length);
        });
    }

    private boolean isPlain(int id) {
        return (plain[id >>> 6] & (1L << id)) != 0;
    }

    /** The characters (UTF-8 lead bytes) in {@code b[from, to)}. */
    static int characters(byte[] b, int from, int to) {
        int chars = 0;
        for (int i = from; i < to; i++) {
            chars += (b[i] & 0xC0) == 0x80 ? 0 : 1;
        }
        return chars;
    }

    /** Whether {@code b} is whole, valid UTF-8 characters none of which must be escaped in a JSON string. */
    static boolean isPlainStringContent(byte[] b) {
        return plainPrefix(b, 0) == b.length;
    }

    /** Where the longest run of whole plain characters from {@code from} ends. */
    static int plainPrefix(byte[] b, int from) {
        int i = from;
        while (i < b.length) {
            int n = plainCharLength(b, i);
            if (n == 0) {
                return i;
            }
            i += n;
        }
        return i;
    }

    /** The byte length of the plain character at {@code i}, or 0 when none starts there. */
    private static int plainCharLength(byte[] b, int i) {
        int c = b[i] & 0xFF;
        if (c < 0x20 || c == '"' || c == '\\') {
            return 0;
        }
        if (c < 0x80) {
            return 1;
        }
        int[] lead = Frames.utf8Lead(c); // not a hot path: built once per vocabulary
        if (lead == null || i + lead[0] >= b.length) {
            return 0;
        }
        int second = b[i + 1] & 0xFF;
        if (second < lead[1] || second > lead[2]) {
            return 0;
        }
        for (int k = 2; k <= lead[0]; k++) {
            int cont = b[i + k] & 0xFF;
            if (cont < 0x80 || cont > 0xBF) {
                return 0;
            }
        }
        return lead[0] + 1;
    }
}
