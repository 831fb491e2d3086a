package dev.finetune4j.eval;

/** Small numerical routines for the A/B statistics. Stateless and thread-safe. */
final class Statistics {
    private Statistics() {
    }

    /**
     * The standard normal quantile (inverse CDF), by Acklam's rational approximation (relative error below
     * 1.2e-9).
     */
    static double normalQuantile(double p) {
        if (!(p > 0 && p < 1)) {
            throw new IllegalArgumentException("probability must be in (0, 1), got " + p);
        }
        double[] a = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00};
        double[] b = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01};
        double[] c = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00};
        double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
        double low = 0.02425;
        if (p < low) {
            double q = Math.sqrt(-2 * Math.log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - low) {
            return -normalQuantile(1 - p);
        }
        double q = p - 0.5;
        double r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }

    /**
     * Exact two-sided binomial test p-value for {@code k} successes in {@code n} trials at p = 1/2 (the sign test):
     * twice the smaller tail, summed from its largest term down until the rest cannot change the sum. The terms
     * fall geometrically away from the mean, so a tail of any size costs a few times sqrt(n) steps.
     */
    static double signTestPValue(long k, long n) {
        if (n == 0) {
            return 1.0;
        }
        long tail = Math.min(k, n - k);
        double term = Math.exp(logBinomialHalf(tail, n));
        double sum = 0;
        for (long i = tail; i >= 0 && term > 0; i--) {
            sum += term;
            double ratio = (double) i / (n - i + 1); // term(i - 1) / term(i), below 1 for i <= n / 2
            if (term * ratio / (1 - ratio) < sum * 0x1p-60) {
                break;
            }
            term *= ratio;
        }
        return Math.min(1.0, 2 * sum);
    }

    /**
     * log P(X = x) for X ~ Binomial(n, 1/2), by Loader's saddle-point form (the one R's dbinom uses): accurate to
     * the last digits for any n, where log-gamma differences of numbers near 1e10 would cancel away ten of them.
     */
    static double logBinomialHalf(long x, long n) {
        if (x == 0 || x == n) {
            return n * Math.log(0.5);
        }
        double half = n / 2.0;
        double lc = stirlingError(n) - stirlingError(x) - stirlingError(n - x) - deviance(x, half) - deviance(n - x, half);
        double lf = Math.log(2 * Math.PI) + Math.log(x) + Math.log1p(-(double) x / n);
        return lc - 0.5 * lf;
    }

    /** log(n!) - log(sqrt(2 pi n) (n/e)^n): the error of Stirling's formula, from its series past 15. */
    private static double stirlingError(long n) {
        if (n <= 15) {
            double logFactorial = 0;
            for (int i = 2; i <= n; i++) {
                logFactorial += Math.log(i);
            }
            return logFactorial - (n + 0.5) * Math.log(n) + n - 0.5 * Math.log(2 * Math.PI);
        }
        double nn = (double) n * n;
        double s0 = 1.0 / 12;
        double s1 = 1.0 / 360;
        double s2 = 1.0 / 1260;
        double s3 = 1.0 / 1680;
        double s4 = 1.0 / 1188;
        if (n > 500) {
            return (s0 - s1 / nn) / n;
        }
        if (n > 80) {
            return (s0 - (s1 - s2 / nn) / nn) / n;
        }
        if (n > 35) {
            return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
        }
        return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
    }

    /** x log(x / m) + m - x, by its series when x is near m (where the direct form cancels). */
    private static double deviance(double x, double m) {
        if (Math.abs(x - m) < 0.1 * (x + m)) {
            double v = (x - m) / (x + m);
            double s = (x - m) * v;
            double ej = 2 * x * v;
            for (int j = 1; ; j++) {
                ej *= v * v;
                double next = s + ej / (2 * j + 1);
                if (next == s) {
                    return s;
                }
                s = next;
            }
        }
        return x * Math.log(x / m) + m - x;
    }

    /** Wilson score interval {@code [low, high]} for {@code k} successes in {@code n} trials at normal quantile {@code z}. */
    static double[] wilson(long k, long n, double z) {
        if (n == 0) {
            return new double[] {0.0, 1.0};
        }
        double p = (double) k / n;
        double z2 = z * z;
        double denom = 1 + z2 / n;
        double center = (p + z2 / (2.0 * n)) / denom;
        double half = z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
        return new double[] {Math.max(0.0, center - half), Math.min(1.0, center + half)};
    }
}
