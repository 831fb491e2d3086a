package dev.finetune4j.core.autograd;

/**
 * Which keys each query may attend to. Queries are the last T of the S key positions (earlier keys come from a
 * KV cache or virtual prefix tokens), so query i sits at key position {@code S - T + i}.
 *
 * @param causal   a query sees only keys at or before its own position
 * @param keyValid [B][S], false for padding keys; null when every key is real
 * @param segments [B][S] example ids of packed sequences: attention never crosses two ids; null when unpacked
 * @param window   sliding-window attention (Mistral, Gemma 2 and 3, Phi-3): a query at position p sees only keys
 *                 at positions above {@code p - window}, itself included; 0 for no window. Positions are indexes
 *                 among the S keys, as Hugging Face's sliding-window mask counts them
 */
public record AttentionMask(boolean causal, boolean[][] keyValid, int[][] segments, int window) {

    /** Checks the window. */
    public AttentionMask {
        if (window < 0) {
            throw new IllegalArgumentException("attention mask: sliding window " + window
                    + " must be positive, or 0 for none");
        }
    }

    /**
     * A mask without a sliding window.
     *
     * @param causal   a query sees only keys at or before its own position
     * @param keyValid [B][S], false for padding keys; null when every key is real
     * @param segments [B][S] example ids of packed sequences; null when unpacked
     */
    public AttentionMask(boolean causal, boolean[][] keyValid, int[][] segments) {
        this(causal, keyValid, segments, 0);
    }

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
     * This mask limited to a sliding window (a layer of a model that mixes full and sliding-window layers takes
     * the model's mask through this).
     *
     * @param keys the keys a query sees at most, itself included; 0 for no window
     * @return the mask with that window
     */
    public AttentionMask withWindow(int keys) {
        return keys == window ? this : new AttentionMask(causal, keyValid, segments, keys);
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
        if (causal && keyPos > queryPos || window > 0 && queryPos - keyPos >= window) {
            return false;
        }
        if (keyValid != null && !keyValid[b][keyPos]) {
            return false;
        }
        return segments == null || segments[b][keyPos] == segments[b][queryPos];
    }
}
