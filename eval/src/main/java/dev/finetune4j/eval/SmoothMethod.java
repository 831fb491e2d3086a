package dev.finetune4j.eval;

import java.util.Arrays;

/** sacreBLEU's BLEU smoothing methods, with their default values. */
public enum SmoothMethod {
    /** No smoothing: a zero n-gram precision gives a zero score. */
    NONE("none", Double.NaN),
    /** Replaces a zero match count by {@code value} (default 0.1). */
    FLOOR("floor", 0.1),
    /** Adds {@code value} (default 1) to the matches and totals of orders 2 and above. */
    ADD_K("add-k", 1.0),
    /** The mteval "exp" smoothing: the k-th zero precision becomes {@code 1 / (2^k * total)}. */
    EXP("exp", Double.NaN);

    private final String sacreName;
    private final double defaultValue;

    SmoothMethod(String sacreName, double defaultValue) {
        this.sacreName = sacreName;
        this.defaultValue = defaultValue;
    }

    /**
     * The name sacreBLEU uses ({@code none}, {@code floor}, {@code add-k}, {@code exp}).
     *
     * @return the sacreBLEU name
     */
    public String sacreName() {
        return sacreName;
    }

    /**
     * Whether this method takes a value ({@code floor} and {@code add-k}).
     *
     * @return true for {@code floor} and {@code add-k}
     */
    public boolean takesValue() {
        return !Double.isNaN(defaultValue);
    }

    /**
     * The default value, NaN for methods without one.
     *
     * @return the default value of {@code floor} (0.1) or {@code add-k} (1), else NaN
     */
    public double defaultValue() {
        return defaultValue;
    }

    /**
     * Looks a method up by its sacreBLEU name.
     *
     * @param name {@code none}, {@code floor}, {@code add-k} or {@code exp}
     * @return the method of that name
     */
    public static SmoothMethod of(String name) {
        for (SmoothMethod m : values()) {
            if (m.sacreName.equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown smoothing method '" + name + "'; expected one of "
                + Arrays.stream(values()).map(SmoothMethod::sacreName).toList());
    }
}
