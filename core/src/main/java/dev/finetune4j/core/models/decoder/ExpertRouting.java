package dev.finetune4j.core.models.decoder;

import java.util.Arrays;

/**
 * Where a mixture of experts sends each token, decided on the host from the router's probabilities: each token's k
 * most probable experts, as {@code torch.topk} picks them (ties to the lower index), laid out for one gather of the
 * tokens grouped by expert and one gather of the results back in token order.
 *
 * @param tokensByExpert the N * k token indices grouped by expert, experts in ascending order, tokens ascending
 *                       within an expert
 * @param expertStarts where each expert's group starts in {@code tokensByExpert}; E + 1 entries, the last N * k
 * @param chosen for each token and each of its k experts in ascending expert order, {@code token * E + expert}: the
 *               routing probability's index in the flattened (N, E) probabilities
 * @param resultRows for the same (token, slot) pairs, the row of {@code tokensByExpert} that holds that expert's result
 *                   for that token
 */
record ExpertRouting(long[] tokensByExpert, int[] expertStarts, long[] chosen, long[] resultRows) {

    /**
     * Routes N tokens over E experts.
     *
     * @param probabilities the router's (N, E) probabilities, row-major
     * @param experts E
     * @param k experts per token, at most E
     * @return the routing
     */
    static ExpertRouting topK(float[] probabilities, int experts, int k) {
        int tokens = probabilities.length / experts;
        int[] picks = new int[tokens * k];
        int[] counts = new int[experts];
        boolean[] taken = new boolean[experts];
        for (int t = 0; t < tokens; t++) {
            pickTopK(probabilities, t * experts, experts, k, picks, t * k, taken);
            Arrays.sort(picks, t * k, (t + 1) * k); // transformers adds a token's experts in expert order
            for (int j = 0; j < k; j++) {
                counts[picks[t * k + j]]++;
            }
        }
        int[] starts = new int[experts + 1];
        for (int e = 0; e < experts; e++) {
            starts[e + 1] = starts[e] + counts[e];
        }
        int[] next = Arrays.copyOf(starts, experts);
        long[] tokensByExpert = new long[tokens * k];
        long[] chosen = new long[tokens * k];
        long[] resultRows = new long[tokens * k];
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < k; j++) {
                int e = picks[t * k + j];
                int row = next[e]++;
                tokensByExpert[row] = t;
                chosen[t * k + j] = (long) t * experts + e;
                resultRows[t * k + j] = row;
            }
        }
        return new ExpertRouting(tokensByExpert, starts, chosen, resultRows);
    }

    /**
     * The k largest of {@code p[from, from + n)} into {@code out[at, at + k)}, by repeated selection (k is small);
     * {@code taken} is all false on entry and on return.
     */
    private static void pickTopK(float[] p, int from, int n, int k, int[] out, int at, boolean[] taken) {
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < n; e++) {
                if (!taken[e] && (best < 0 || p[from + e] > p[from + best])) {
                    best = e;
                }
            }
            out[at + j] = best;
            taken[best] = true;
        }
        for (int j = 0; j < k; j++) {
            taken[out[at + j]] = false;
        }
    }
}
