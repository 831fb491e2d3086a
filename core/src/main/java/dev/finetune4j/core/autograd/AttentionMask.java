package dev.finetune4j.core.autograd;

/**
 * Which keys each query may attend to. Queries are the last T of the S key positions (earlier keys come from a
 * KV cache or virtual prefix tokens), so query i sits at key position {@code S - T + i}.
 *
 * @param causal   a query sees only keys at or before its own position
 * @param keyValid [B][S], false for padding keys; null when every key is real
 * @param segments [B][S] example ids of packed sequences: attention never crosses two ids; null when unpacked
 */
public record AttentionMask(boolean causal, boolean[][] keyValid, int[][] segments) {

    /**
     * A causal mask over real, unpacked keys: each query sees itself and every earlier position.
     *
     * @return the mask
     */
    public static AttentionMask causalOnly() {
        return new AttentionMask(true, null, null);
    }

    /**
     * No mask: every query sees every key (bidirectional encoders).
     *
     * @return the mask
     */
    public static AttentionMask none() {
        return new AttentionMask(false, null, null);
    }

    /**
     * Whether a query may attend to a key.
     *
     * @param b the sequence's index in the batch
     * @param queryPos the query's position among the S key positions
     * @param keyPos the key's position, in [0, S)
     * @return true when the mask lets the query see the key
     */
    public boolean allows(int b, int queryPos, int keyPos) {
        if (causal && keyPos > queryPos) {
            return false;
        }
        if (keyValid != null && !keyValid[b][keyPos]) {
            return false;
        }
        return segments == null || segments[b][keyPos] == segments[b][queryPos];
    }
}
