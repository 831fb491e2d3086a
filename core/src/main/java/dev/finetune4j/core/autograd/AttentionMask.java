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

    public static AttentionMask causalOnly() {
        return new AttentionMask(true, null, null);
    }

    public static AttentionMask none() {
        return new AttentionMask(false, null, null);
    }

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
