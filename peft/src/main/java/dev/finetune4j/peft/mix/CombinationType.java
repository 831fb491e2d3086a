package dev.finetune4j.peft.mix;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How {@link AdapterMix} combines adapters: PEFT's {@code combination_type} values. Each is where it works (on the
 * A and B factors one by one, on stacked ranks, or on the weighted delta {@code s B A} followed by a truncated SVD)
 * and how entries are kept (all, the largest by magnitude, or at random with rescaling) and summed (weighted sum,
 * or TIES's sign election and mean of the agreeing entries).
 */
public enum CombinationType {
    /** Weighted sum of the A factors and of the B factors (weights split as sqrt): not the sum of the deltas. */
    LINEAR(Form.FACTORS, Pruning.NONE, false),
    /** Stacks the ranks: A's rows and B's columns concatenated; exactly the weighted sum of the deltas. */
    CAT(Form.STACKED_RANKS, Pruning.NONE, false),
    /** Truncated SVD of the weighted sum of the deltas. */
    SVD(Form.DELTA_SVD, Pruning.NONE, false),
    /** TIES on the factors: keep the largest entries, elect signs, average the agreeing entries. */
    TIES(Form.FACTORS, Pruning.MAGNITUDE, true),
    /** TIES on the deltas, then a truncated SVD. */
    TIES_SVD(Form.DELTA_SVD, Pruning.MAGNITUDE, true),
    /** DARE on the factors: drop entries at random, rescale by 1 / density, weighted sum. */
    DARE_LINEAR(Form.FACTORS, Pruning.RANDOM, false),
    /** DARE's random drop, then TIES's sign election, on the factors. */
    DARE_TIES(Form.FACTORS, Pruning.RANDOM, true),
    /** DARE on the deltas, then a truncated SVD. */
    DARE_LINEAR_SVD(Form.DELTA_SVD, Pruning.RANDOM, false),
    /** DARE with sign election on the deltas, then a truncated SVD. */
    DARE_TIES_SVD(Form.DELTA_SVD, Pruning.RANDOM, true),
    /** Keep the largest entries of each factor, weighted sum. */
    MAGNITUDE_PRUNE(Form.FACTORS, Pruning.MAGNITUDE, false),
    /** Keep the largest entries of each delta, weighted sum, then a truncated SVD. */
    MAGNITUDE_PRUNE_SVD(Form.DELTA_SVD, Pruning.MAGNITUDE, false);

    /** What the combination works on. */
    enum Form {
        /** A and B separately, with sqrt(|weight * scaling|) on each (the sign on A). */
        FACTORS,
        /** A scaled by weight * scaling and concatenated along the rank, B concatenated. */
        STACKED_RANKS,
        /** The deltas s B A (out, in), weighted, combined, then factored by a truncated SVD. */
        DELTA_SVD
    }

    /** Which entries of each adapter's tensor survive before combining. */
    enum Pruning {
        /** All. */
        NONE,
        /** The int(density * n) largest by magnitude. */
        MAGNITUDE,
        /** Each with probability density, survivors divided by density (DARE). */
        RANDOM
    }

    private final Form form;
    private final Pruning pruning;
    private final boolean electsSign;

    CombinationType(Form form, Pruning pruning, boolean electsSign) {
        this.form = form;
        this.pruning = pruning;
        this.electsSign = electsSign;
    }

    Form form() {
        return form;
    }

    Pruning pruning() {
        return pruning;
    }

    boolean electsSign() {
        return electsSign;
    }

    /**
     * Whether the result comes from a truncated SVD (and {@code svd_rank}, {@code svd_clamp} apply).
     *
     * @return true for {@code svd} and the {@code *_svd} types
     */
    public boolean usesSvd() {
        return form == Form.DELTA_SVD;
    }

    /**
     * Whether the type prunes and so needs a density.
     *
     * @return true for TIES, DARE and magnitude pruning types
     */
    public boolean needsDensity() {
        return pruning != Pruning.NONE;
    }

    /**
     * PEFT's name of the type.
     *
     * @return e.g. {@code "dare_ties_svd"}
     */
    public String pythonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The type of PEFT's name.
     *
     * @param name e.g. {@code "ties"}
     * @return the type
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static CombinationType of(String name) {
        return Arrays.stream(values()).filter(t -> t.pythonName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown combination type '" + name + "': expected one of "
                        + Arrays.stream(values()).map(CombinationType::pythonName).collect(Collectors.joining(", "))));
    }
}
