package dev.finetune4j.core.generate.json;

/**
 * What a mask needs from a vocabulary, built once per {@link TokenBytes} and shared: the trie of all ordinary
 * tokens, the set of tokens that are plain string content, and the trie of the others.
 *
 * <p>Plain string content: every byte is a string character that needs no escape (at least 0x20, not a quote, not
 * a backslash) and the bytes are whole, valid UTF-8 characters (RFC 3629). Inside a string with no length limit,
 * after a whole character and outside an escape, each such token is allowed, whatever the grammar; so there a mask
 * is this set (a word-wise OR) plus a walk of the small trie of the remaining tokens. In byte-level vocabularies of
 * about 150k tokens, most tokens are plain content. Immutable.
 */
final class TokenIndex {
    final TokenTrie all;
    final TokenTrie notPlain;
    final long[] plain;

    TokenIndex(TokenBytes vocab) {
        plain = new long[(vocab.size() + 63) >>> 6];
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytesShared(id);
            if (b != null && b.length > 0 && b.length <= TokenTrie.MAX_TOKEN_BYTES && !vocab.isSpecial(id) && isPlainStringContent(b)) {
                plain[id >>> 6] |= 1L << id;
            }
        }
        all = TokenTrie.build(vocab, id -> true);
        notPlain = TokenTrie.build(vocab, id -> (plain[id >>> 6] & (1L << id)) == 0);
    }

    /** Whether {@code b} is whole, valid UTF-8 characters none of which must be escaped in a JSON string. */
    static boolean isPlainStringContent(byte[] b) {
        int i = 0;
        while (i < b.length) {
            int c = b[i] & 0xFF;
            if (c < 0x20 || c == '"' || c == '\\') {
                return false;
            }
            if (c < 0x80) {
                i++;
                continue;
            }
            int[] lead = Frames.utf8Lead(c);
            if (lead == null || i + lead[0] >= b.length) {
                return false;
            }
            int second = b[i + 1] & 0xFF;
            if (second < lead[1] || second > lead[2]) {
                return false;
            }
            for (int k = 2; k <= lead[0]; k++) {
                int cont = b[i + k] & 0xFF;
                if (cont < 0x80 || cont > 0xBF) {
                    return false;
                }
            }
            i += lead[0] + 1;
        }
        return true;
    }
}
