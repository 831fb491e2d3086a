package dev.finetune4j.core.models.decoder;

import java.util.Arrays;

/**
 * Where a mixture of experts sends each token, decided on the host from the router's scores: each token's k
 * experts of the highest scores, as {@code torch.topk} picks them (ties to the lower index), laid out for one gather of the
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
     * Routes N tokens over E experts, each token to its k experts of the highest scores.
     *
     * @param scores the scores to pick by, (N, E) row-major
     * @param experts E
     * @param k experts per token, at most E
     * @return the routing
     */
    static ExpertRouting topK(float[] scores, int experts, int k) {
        return topK(scores, experts, k, 1, 1, MoeConfig.GroupScore.TOP_TWO_SUM);
    }

    /**
     * Routes N tokens over E experts in {@code groups} groups of consecutive experts (DeepSeek's and GLM-4.5's
     * {@code n_group}): each token first keeps its {@code groupsPerToken} groups of the highest group scores (the sum
     * of a group's two highest scores, or its highest), then takes its k experts of the highest scores within them.
     *
     * @param scores the scores to pick by, (N, E) row-major
     * @param experts E, a multiple of {@code groups}, at least 2 per group when there are several
     * @param k experts per token, at most {@code groupsPerToken * E / groups}
     * @param groups the groups; 1 routes over all experts
     * @param groupsPerToken the groups a token's experts come from, at most {@code groups}
     * @param groupScore how a group is scored
     * @return the routing
     */
    static ExpertRouting topK(float[] scores, int experts, int k, int groups, int groupsPerToken,
                              MoeConfig.GroupScore groupScore) {
        int tokens = scores.length / experts;
        int[] picks = new int[tokens * k];
        int[] counts = new int[experts];
        boolean[] taken = new boolean[experts];
        // the group selection's working arrays, reused by every token
        float[] groupScores = new float[groups];
        boolean[] keptGroups = new boolean[groups];
        int[] bestGroups = new int[groupsPerToken];
        for (int t = 0; t < tokens; t++) {
            Arrays.fill(taken, false);
            if (groups > 1) {
                scoreGroups(scores, t * experts, experts, groupScore, groupScores);
                Arrays.fill(keptGroups, false);
                pickTopK(groupScores, 0, groups, groupsPerToken, bestGroups, 0, keptGroups);
                int size = experts / groups;
                for (int g = 0; g < groups; g++) {
                    if (!keptGroups[g]) { // every expert outside the token's best groups is out of reach
                        Arrays.fill(taken, g * size, (g + 1) * size, true);
                    }
                }
            }
            pickTopK(scores, t * experts, experts, k, picks, t * k, taken);
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
     * Each group's score from the token's scores {@code p[from, from + n)}: the sum of its two highest or its highest
     * ({@code pickTopK} then breaks ties to the lower group).
     */
    private static void scoreGroups(float[] p, int from, int n, MoeConfig.GroupScore score, float[] groupScores) {
        int size = n / groupScores.length;
        for (int g = 0; g < groupScores.length; g++) {
            float first = Float.NEGATIVE_INFINITY;
            float second = Float.NEGATIVE_INFINITY;
            for (int e = g * size; e < (g + 1) * size; e++) {
                float v = p[from + e];
                if (v > first) {
                    second = first;
                    first = v;
                } else if (v > second) {
                    second = v;
                }
            }
            groupScores[g] = score == MoeConfig.GroupScore.MAX ? first : first + second;
        }
    }

    /**
     * The k largest of {@code p[from, from + n)} not yet taken into {@code out[at, at + k)}, by repeated selection (k
     * is small), marking them taken.
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
    }
}
