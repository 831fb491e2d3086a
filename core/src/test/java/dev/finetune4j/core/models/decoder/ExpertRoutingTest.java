package dev.finetune4j.core.models.decoder;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The host side of a mixture's routing, on a case worked by hand. */
class ExpertRoutingTest {

    @Test
    void picksEachTokensTopExpertsAndLaysThemOutByExpert() {
        // 3 tokens x 4 experts, k = 2. Token 0 picks experts 2 and 0; token 1 picks 3 and 1; token 2's tie between
        // experts 1 and 3 (0.3) goes to the lower index, after expert 0 (0.35)
        float[] p = {
                0.3f, 0.1f, 0.5f, 0.1f,
                0.1f, 0.2f, 0.05f, 0.65f,
                0.35f, 0.3f, 0.05f, 0.3f};
        ExpertRouting r = ExpertRouting.topK(p, 4, 2);
        // expert 0 gets tokens 0 and 2, expert 1 tokens 1 and 2, expert 2 token 0, expert 3 token 1
        assertArrayEquals(new long[]{0, 2, 1, 2, 0, 1}, r.tokensByExpert());
        assertArrayEquals(new int[]{0, 2, 4, 5, 6}, r.expertStarts());
        // each token's experts in ascending order: (0: 0, 2), (1: 1, 3), (2: 0, 1), as indices into the (3, 4) probabilities
        assertArrayEquals(new long[]{0, 2, 5, 7, 8, 9}, r.chosen());
        // the rows of tokensByExpert holding (token 0, expert 0), (0, 2), (1, 1), (1, 3), (2, 0), (2, 1)
        assertArrayEquals(new long[]{0, 4, 2, 5, 1, 3}, r.resultRows());
    }

    @Test
    void aTokenSentToEveryExpertVisitsThemAll() {
        ExpertRouting r = ExpertRouting.topK(new float[]{0.1f, 0.6f, 0.3f}, 3, 3);
        assertArrayEquals(new long[]{0, 0, 0}, r.tokensByExpert());
        assertArrayEquals(new int[]{0, 1, 2, 3}, r.expertStarts());
        assertArrayEquals(new long[]{0, 1, 2}, r.chosen());
        assertArrayEquals(new long[]{0, 1, 2}, r.resultRows());
    }

    @Test
    void groupedRoutingPicksWithinEachTokensBestGroups() {
        // 8 experts in 4 groups of 2, 2 groups per token, k = 2. Token 0's group scores (sums of both members):
        // 0.9+0.0, 0.5+0.45, 0.8+0.3, 0.1+0.1 = 0.9, 0.95, 1.1, 0.2 -> groups 2 and 1; its best single expert (0, 0.9)
        // lies outside them, so it gets experts 4 (0.8) and 2 (0.5), not 0 and 4 as an ungrouped top 2 would.
        // Token 1: 0.2+0.1, 0.3+0.3, 0.05+0.05, 0.7+0.0 = 0.3, 0.6, 0.1, 0.7 -> groups 3 and 1 -> experts 6 and 2
        // (0.3 ties with 3: the lower index)
        float[] s = {
                0.9f, 0.0f, 0.5f, 0.45f, 0.8f, 0.3f, 0.1f, 0.1f,
                0.2f, 0.1f, 0.3f, 0.3f, 0.05f, 0.05f, 0.7f, 0.0f};
        ExpertRouting grouped = ExpertRouting.topK(s, 8, 2, 4, 2, MoeConfig.GroupScore.TOP_TWO_SUM);
        assertArrayEquals(new long[]{2, 4, 8 + 2, 8 + 6}, grouped.chosen());
        assertArrayEquals(new long[]{0, 4, 8 + 2, 8 + 6}, ExpertRouting.topK(s, 8, 2).chosen(), "without groups");
        assertArrayEquals(ExpertRouting.topK(s, 8, 2).chosen(),
                ExpertRouting.topK(s, 8, 2, 4, 4, MoeConfig.GroupScore.TOP_TWO_SUM).chosen(),
                "keeping every group is not grouping");
        // DeepSeek-V2 scores a group by its best: token 0's groups 0.9, 0.5, 0.8, 0.1 -> groups 0 and 2 -> experts 0
        // and 4; token 1's 0.2, 0.3, 0.05, 0.7 -> groups 3 and 1 -> experts 6 and 2
        assertArrayEquals(new long[]{0, 4, 8 + 2, 8 + 6},
                ExpertRouting.topK(s, 8, 2, 4, 2, MoeConfig.GroupScore.MAX).chosen(), "groups by their best");
    }
}
