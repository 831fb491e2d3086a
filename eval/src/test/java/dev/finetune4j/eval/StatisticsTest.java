package dev.finetune4j.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StatisticsTest {

    /** Against the exact sum of binomial coefficients in big integers. */
    @ParameterizedTest
    @CsvSource({"0, 1", "1, 1", "3, 10", "5, 10", "16, 17", "0, 40", "12, 40", "480, 1000", "420, 1000", "950, 1000",
            "1400, 3000", "1499, 3000", "1200, 3000"})
    void theSignTestEqualsTheExactBinomialSum(long k, long n) {
        assertEquals(1.0, Statistics.signTestPValue(k, n) / exactPValue(k, n), 1e-12, k + " of " + n);
    }

    @Test
    void aBillionJudgmentsAgreeWithTheNormalLimit() {
        long n = 2_000_000_000L;
        long k = n / 2 - 40_000;
        double z = (n / 2.0 - k - 0.5) / Math.sqrt(n / 4.0); // continuity-corrected; the skew is 0 at p = 1/2
        double p = Statistics.signTestPValue(k, n);
        assertEquals(-z, Statistics.normalQuantile(p / 2), 1e-5);
    }

    @Test
    void theBinomialLogProbabilityMatchesTheExactOneAcrossSizes() {
        for (long[] c : new long[][] {{1, 2}, {7, 15}, {16, 33}, {40, 81}, {250, 501}, {2000, 3001}}) {
            BigDecimal exact = new BigDecimal(binomial(c[0], c[1])).divide(new BigDecimal(BigInteger.TWO.pow((int) c[1])),
                    MathContext.DECIMAL128);
            assertEquals(1.0, Math.exp(Statistics.logBinomialHalf(c[0], c[1])) / exact.doubleValue(), 1e-12,
                    c[0] + " of " + c[1]);
        }
    }

    private static double exactPValue(long k, long n) {
        long tail = Math.min(k, n - k);
        BigInteger sum = BigInteger.ZERO;
        for (long i = 0; i <= tail; i++) {
            sum = sum.add(binomial(i, n));
        }
        BigDecimal p = new BigDecimal(sum.shiftLeft(1)).divide(new BigDecimal(BigInteger.TWO.pow((int) n)), MathContext.DECIMAL128);
        return Math.min(1.0, p.doubleValue());
    }

    private static BigInteger binomial(long k, long n) {
        BigInteger c = BigInteger.ONE;
        for (long i = 0; i < k; i++) {
            c = c.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
        }
        return c;
    }
}
