package dev.finetune4j.eval;

/**
 * The statistics of an A/B preference test (A = candidate, B = baseline).
 *
 * @param winsA            judgments preferring the candidate
 * @param winsB            judgments preferring the baseline
 * @param ties             ties
 * @param winRate          {@code winsA / (winsA + winsB)}, ties excluded (0.5 when there are no decisive judgments)
 * @param winRateTiesHalf  {@code (winsA + ties / 2) / total}, ties counted as half a win each
 * @param wilsonLow        lower end of the Wilson interval of {@link #winRate} at the test's confidence
 * @param wilsonHigh       upper end of that interval
 * @param pValue           exact two-sided sign-test p-value (ties excluded)
 * @param preference       the win rate the verdict used (per the test's tie handling)
 * @param verdict          the verdict
 * @param reason           one sentence explaining the verdict
 */
public record AbTestResult(long winsA, long winsB, long ties, double winRate, double winRateTiesHalf,
                           double wilsonLow, double wilsonHigh, double pValue, double preference,
                           AbVerdict verdict, String reason) {
    /**
     * All judgments.
     *
     * @return {@code winsA + winsB + ties}
     */
    public long total() {
        return winsA + winsB + ties;
    }
}
