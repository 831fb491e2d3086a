package dev.finetune4j.peft.mix;

import dev.finetune4j.peft.PeftException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The three ways {@link AdapterMix} turns the source adapters' factors at one module into combined factors
 * (see {@link CombinationType.Form}). The results may have a lower rank than the combined adapter's; the caller pads
 * them with zeros, which leaves B A unchanged.
 *
 * <p>Thread safety: stateless.
 */
final class FactorRules {
    private FactorRules() {
    }

    /** {@code cat}: A = [w_1 s_1 A_1; w_2 s_2 A_2; ...] (sum r_i, in), B = [B_1, B_2, ...] (out, sum r_i). */
    static AdapterFactors stacked(List<AdapterMix.Source> sources) {
        int rank = sources.stream().mapToInt(s -> s.factors().rank()).sum();
        int in = sources.getFirst().factors().a().cols();
        int out = sources.getFirst().factors().b().rows();
        Matrix a = Matrix.zeros(rank, in);
        Matrix b = Matrix.zeros(out, rank);
        int offset = 0;
        for (AdapterMix.Source s : sources) {
            Matrix scaledA = s.factors().a().scaled(s.weight() * s.scaling());
            System.arraycopy(scaledA.values(), 0, a.values(), offset * in, scaledA.values().length);
            Matrix sb = s.factors().b();
            for (int i = 0; i < out; i++) {
                System.arraycopy(sb.values(), i * sb.cols(), b.values(), i * rank + offset, sb.cols());
            }
            offset += sb.cols();
        }
        return new AdapterFactors(a, b);
    }

    /**
     * The entry-wise types on the factors: A's with weights sign(w s) sqrt(|w s|), B's with sqrt(|w s|), so that
     * one adapter alone gives B A = w s B_1 A_1 (the sign goes on one side only).
     */
    static AdapterFactors entryWise(CombinationType type, String module, List<AdapterMix.Source> sources,
                                    MixOptions options, SplittableRandom random) {
        AdapterFactors first = sources.getFirst().factors();
        for (AdapterMix.Source s : sources) {
            if (s.factors().rank() != first.rank()) {
                throw new PeftException("module " + module + " has rank " + first.rank() + " in adapter "
                        + sources.getFirst().dir() + " but " + s.factors().rank() + " in adapter " + s.dir()
                        + " (rank_pattern): " + type.pythonName() + " combines A and B entry by entry and needs equal "
                        + "ranks; use cat or svd");
            }
        }
        double[] weightsA = new double[sources.size()];
        double[] weightsB = new double[sources.size()];
        List<double[]> as = new ArrayList<>();
        List<double[]> bs = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            AdapterMix.Source s = sources.get(i);
            double ws = s.weight() * s.scaling();
            weightsB[i] = Math.sqrt(Math.abs(ws));
            weightsA[i] = ws >= 0 ? weightsB[i] : -weightsB[i];
            as.add(s.factors().a().values());
            bs.add(s.factors().b().values());
        }
        double density = density(options);
        double[] a = MergeRules.combine(type, as, weightsA, density, options.majoritySign(), random);
        double[] b = MergeRules.combine(type, bs, weightsB, density, options.majoritySign(), random);
        return new AdapterFactors(new Matrix(first.a().rows(), first.a().cols(), a),
                new Matrix(first.b().rows(), first.b().cols(), b));
    }

    /**
     * The SVD types: the deltas s_i B_i A_i (out, in) combined with weights w_i by the type's rule, then
     * B = U[:, :rank] diag(S[:rank]) (out, rank), A = V^T[:rank, :] (rank, in), clamped when asked. Where the rule is
     * a plain weighted sum ({@code svd}, or DARE and magnitude pruning keeping everything) the SVD is taken of the
     * stacked factors' product; pruning and TIES need the dense delta, whose SVD costs O(out in^2).
     */
    static AdapterFactors truncatedSvd(CombinationType type, List<AdapterMix.Source> sources, int rank,
                                       MixOptions options, SplittableRandom random) {
        ThinSvd svd;
        if (!type.electsSign() && (type.pruning() == CombinationType.Pruning.NONE || density(options) >= 1)) {
            // a weighted sum of the deltas is the product of the stacked factors (cat): no dense (out, in) matrix
            AdapterFactors stacked = stacked(sources);
            svd = ThinSvd.ofProduct(stacked.b(), stacked.a());
        } else {
            List<double[]> deltas = new ArrayList<>();
            double[] weights = new double[sources.size()];
            for (int i = 0; i < sources.size(); i++) {
                AdapterMix.Source s = sources.get(i);
                deltas.add(s.factors().b().times(s.factors().a()).scaled(s.scaling()).values());
                weights[i] = s.weight();
            }
            AdapterFactors first = sources.getFirst().factors();
            svd = ThinSvd.of(new Matrix(first.b().rows(), first.a().cols(),
                    MergeRules.combine(type, deltas, weights, density(options), options.majoritySign(), random)));
        }
        Matrix b = svd.leadingUs(rank);
        Matrix a = svd.leadingVt(rank);
        if (options.svdClamp() != null) {
            double limit = quantile(b.values(), a.values(), options.svdClamp());
            clampInPlace(b.values(), -limit, limit);
            clampInPlace(a.values(), -limit, limit);
        }
        return new AdapterFactors(a, b);
    }

    private static double density(MixOptions options) {
        return options.density() == null ? 1 : options.density();
    }

    /** torch.quantile of the entries of both arrays together: linear interpolation between order statistics. */
    static double quantile(double[] x, double[] y, double q) {
        double[] all = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, all, x.length, y.length);
        Arrays.sort(all);
        double position = q * (all.length - 1);
        int below = (int) Math.floor(position);
        int above = Math.min(below + 1, all.length - 1);
        return all[below] + (all[above] - all[below]) * (position - below);
    }

    /** torch.clamp(x, low, high): min(max(x, low), high), so high wins when low > high (a negative quantile). */
    private static void clampInPlace(double[] x, double low, double high) {
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.min(Math.max(x[i], low), high);
        }
    }
}
