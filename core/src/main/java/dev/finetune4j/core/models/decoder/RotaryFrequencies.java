package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Inverse frequencies of rotary embeddings for each scaling type, computed in float32 as Hugging Face's
 * {@code ROPE_INIT_FUNCTIONS} do, so that angles (and logits) match the reference bit for bit where possible.
 *
 * <p>Thread-safe: the last table is a single atomic slot, and the tables of consecutive positions are made under
 * this object's lock.
 */
public final class RotaryFrequencies {
    /** The fewest positions a table of consecutive positions is made for. */
    private static final int MIN_CACHED_POSITIONS = 256;

    private final float[] invFreq;
    private final float attentionScaling;
    /** Longrope's long-context frequencies, used by passes reaching past {@link #switchLength}; null otherwise. */
    private final RotaryFrequencies beyond;
    private final int switchLength;
    /** The factor of each position on cos and sin ({@link Rotary.PositionFactor#NONE} but for {@link #queries}). */
    private final Rotary.PositionFactor positionFactor;
    /** The frequencies that rotate the queries: these with Llama 4's temperature folded in, else these. */
    private final RotaryFrequencies queries;
    /** Zero frequencies carrying the queries' factor, for the query dimensions not rotated; null for none. */
    private final RotaryFrequencies unrotatedQueries;
    private final AtomicReference<Rotary.Table> lastTable = new AtomicReference<>();
    /** The scope that owns the tables of positions 0, 1, 2, ... per device; null when this instance keeps none. */
    private final Supplier<TensorScope> tableScope;
    private final Map<Device, Rotary.Table> consecutive = new HashMap<>(); // guarded by this

    /**
     * Frequencies as computed by {@link #of}, or given directly in tests.
     *
     * @param invFreq          one frequency per pair, (D/2)
     * @param attentionScaling multiplier of cos and sin (1 except YaRN)
     */
    public RotaryFrequencies(float[] invFreq, float attentionScaling) {
        this(invFreq, attentionScaling, null, null, Integer.MAX_VALUE, Rotary.PositionFactor.NONE, null, 0);
    }

    /**
     * @param queryFactor the factor of each position on the queries' tables ({@link #queries}), null for none
     * @param unrotatedDims the query dimensions outside the rotation that also take that factor
     *                      ({@link #unrotatedQueries}); 0 for none
     */
    private RotaryFrequencies(float[] invFreq, float attentionScaling, Supplier<TensorScope> tableScope,
                              RotaryFrequencies beyond, int switchLength, Rotary.PositionFactor positionFactor,
                              Rotary.PositionFactor queryFactor, int unrotatedDims) {
        this.invFreq = invFreq;
        this.attentionScaling = attentionScaling;
        this.tableScope = tableScope;
        this.beyond = beyond;
        this.switchLength = switchLength;
        this.positionFactor = positionFactor;
        this.queries = queryFactor == null ? this : new RotaryFrequencies(invFreq, attentionScaling, tableScope,
                beyond == null ? null : beyond.withQueryFactor(queryFactor).queries, switchLength, queryFactor, null, 0);
        // NOTE: angles of 0 make cos = factor and sin = 0 in every pair, so rotating by these tables multiplies by the
        // factor alone, in either pair layout, forward and backward
        this.unrotatedQueries = queryFactor == null || unrotatedDims == 0 ? null : new RotaryFrequencies(
                new float[unrotatedDims / 2], 1f, tableScope, null, Integer.MAX_VALUE, queryFactor, null, 0);
    }

    /**
     * These frequencies, whose {@link #queries} also multiply cos and sin by {@code factor} at each position: Llama
     * 4's query temperature, which Ministral 3 applies to the rotated queries (a constant of the position, so the
     * rotation's backward scales the queries' gradient by it too). The keys keep these tables.
     *
     * @param factor the factor of each position on the queries
     * @return frequencies with the same values whose queries are scaled
     */
    public RotaryFrequencies withQueryFactor(Rotary.PositionFactor factor) {
        return withQueryFactor(factor, 0);
    }

    /**
     * {@link #withQueryFactor(Rotary.PositionFactor)} for queries of which {@code unrotatedDims} dimensions lie outside
     * the rotation and take the factor too (Mistral 4 multiplies whole latent-attention query heads, their no-rope
     * dimensions included): {@link #unrotatedQueries} scales those.
     *
     * @param factor the factor of each position on the queries
     * @param unrotatedDims the query dimensions not rotated that take the factor, even; 0 for none
     * @return frequencies with the same values whose queries are scaled
     * @throws IllegalArgumentException for a negative or odd {@code unrotatedDims}
     */
    public RotaryFrequencies withQueryFactor(Rotary.PositionFactor factor, int unrotatedDims) {
        if (unrotatedDims < 0 || unrotatedDims % 2 != 0) {
            throw new IllegalArgumentException("the unrotated query dimensions must be an even count >= 0 (the factor "
                    + "is applied to them in pairs), not " + unrotatedDims);
        }
        return new RotaryFrequencies(invFreq, attentionScaling, tableScope, beyond, switchLength, positionFactor,
                factor, unrotatedDims);
    }

    /**
     * The frequencies that rotate the queries, whose tables this model's attention layers of this type share.
     *
     * @return these frequencies with the factor of {@link #withQueryFactor} folded in, or these without one
     */
    public RotaryFrequencies queries() {
        return queries;
    }

    /**
     * Frequencies of zero over the queries' unrotated dimensions ({@link #withQueryFactor(Rotary.PositionFactor,
     * int)}) with the queries' factor on cos and sin: rotating by their tables multiplies each position by the factor
     * alone, sharing the tables' caching and kernels with the rotation.
     *
     * @return those frequencies, or null without unrotated dimensions that take a factor
     */
    public RotaryFrequencies unrotatedQueries() {
        return unrotatedQueries;
    }

    /** The factor this instance's queries carry, for the copies that keep it; null when they carry none. */
    private Rotary.PositionFactor queryFactor() {
        return queries == this ? null : queries.positionFactor;
    }

    /** The unrotated query dimensions that take the factor, for the copies that keep them. */
    private int unrotatedDims() {
        return unrotatedQueries == null ? 0 : 2 * unrotatedQueries.invFreq.length;
    }

    /**
     * These frequencies for passes whose positions all lie below {@code length}, and {@code longer} for a pass that
     * reaches past it: Phi-3's longrope switches from its short to its long factors when the sequence outgrows the
     * pretrained length, judged per pass by its largest position, as transformers does.
     *
     * @param length the longest sequence these frequencies serve
     * @param longer the frequencies of longer sequences
     * @return the switching frequencies
     */
    public RotaryFrequencies switchingBeyond(int length, RotaryFrequencies longer) {
        return new RotaryFrequencies(invFreq, attentionScaling, tableScope, longer, length, positionFactor,
                queryFactor(), unrotatedDims());
    }

    /**
     * These frequencies keeping, per device, one table of positions 0, 1, 2, ... in the scope {@code scope} gives
     * when the table is made (a model's parameter scope, which loading replaces): a pass whose rows all hold the
     * same run of consecutive positions (training batches, and decoding steps of rows at the same position) then
     * reads a view of it instead of uploading a table of its own, so that a steady-state training step makes no
     * transfer for it. The table grows by powers of two, and lives until its scope closes.
     *
     * @param scope gives the scope that owns the tables
     * @return frequencies with the same values that keep the tables
     */
    public RotaryFrequencies cachingTablesIn(Supplier<TensorScope> scope) {
        return new RotaryFrequencies(invFreq, attentionScaling, scope,
                beyond == null ? null : beyond.cachingTablesIn(scope), switchLength, positionFactor, queryFactor(),
                unrotatedDims());
    }

    /**
     * The inverse frequencies.
     *
     * @return the array itself, (D/2); do not modify it
     */
    public float[] invFreq() {
        return invFreq;
    }

    /**
     * The multiplier of cos and sin.
     *
     * @return 1 except for YaRN scaling
     */
    public float attentionScaling() {
        return attentionScaling;
    }

    /**
     * The cos/sin table for {@code positions} on {@code device}, by transformers' batch-wide rule: {@code
     * table(positions, null, device)}.
     *
     * @param positions [B][T] position of each token
     * @param device where the table is needed
     * @return the table
     */
    public Rotary.Table table(int[][] positions, Device device) {
        return table(positions, null, device);
    }

    /**
     * The cos/sin table for {@code positions} on {@code device}. Every layer of one forward pass shares the same
     * positions array, so the table is computed once per pass and reused while the scope it was made in is open
     * (a concurrent pass just computes its own; a pass in a scope that outlived the table's makes a new one).
     * Longrope's switch is judged per row by {@code sequenceLengths} when given (a serving batch: each row as if
     * alone), else for the whole pass by its largest position, as transformers does.
     *
     * @param positions [B][T] position of each token
     * @param sequenceLengths [B] each row's length after the pass, or null
     * @param device where the table is needed
     * @return the table
     */
    public Rotary.Table table(int[][] positions, int[] sequenceLengths, Device device) {
        boolean[] longer = beyond == null ? null : longerRows(positions, sequenceLengths);
        if (longer != null && allEqual(longer, true)) {
            return beyond.table(positions, device);
        }
        Rotary.Table last = lastTable.get();
        if (last != null && last.positions() == positions && last.usableOn(device)) {
            return last;
        }
        Rotary.Table fresh;
        if (longer != null && !allEqual(longer, false)) {
            float[][] rowFrequencies = new float[positions.length][];
            for (int b = 0; b < positions.length; b++) {
                rowFrequencies[b] = longer[b] ? beyond.invFreq : invFreq;
            }
            fresh = Rotary.Table.of(device, TensorScope.current(), positions, rowFrequencies, attentionScaling,
                    positionFactor);
        } else {
            int start = tableScope == null ? -1 : commonConsecutiveStart(positions);
            fresh = start >= 0 ? consecutiveView(positions, start, device)
                    : Rotary.Table.of(device, TensorScope.current(), positions, sameForEveryRow(positions.length),
                            attentionScaling, positionFactor);
        }
        lastTable.set(fresh);
        return fresh;
    }

    private float[][] sameForEveryRow(int rows) {
        float[][] frequencies = new float[rows][];
        Arrays.fill(frequencies, invFreq);
        return frequencies;
    }

    /** Per row, whether it takes the frequencies {@link #beyond} the switch. */
    private boolean[] longerRows(int[][] positions, int[] sequenceLengths) {
        boolean[] longer = new boolean[positions.length];
        boolean wholePass = sequenceLengths == null && reachesPast(positions, switchLength);
        for (int b = 0; b < longer.length; b++) {
            longer[b] = sequenceLengths == null ? wholePass : sequenceLengths[b] > switchLength;
        }
        return longer;
    }

    private static boolean allEqual(boolean[] values, boolean value) {
        for (boolean v : values) {
            if (v != value) {
                return false;
            }
        }
        return true;
    }

    /** Whether the sequence reaches {@code length} tokens: its largest position plus one exceeds it. */
    private static boolean reachesPast(int[][] positions, int length) {
        for (int[] row : positions) {
            for (int p : row) {
                if (p >= length) {
                    return true;
                }
            }
        }
        return false;
    }

    /** {@code s} when every row of {@code positions} is s, s + 1, ..., else -1. */
    private static int commonConsecutiveStart(int[][] positions) {
        if (positions.length == 0 || positions[0].length == 0) {
            return -1;
        }
        int start = positions[0][0];
        for (int[] row : positions) {
            for (int p = 0; p < row.length; p++) {
                if (row[p] != start + p) {
                    return -1;
                }
            }
        }
        return start;
    }

    /** The rows of the cached table of consecutive positions that {@code positions} (all rows from start) need. */
    private Rotary.Table consecutiveView(int[][] positions, int start, Device device) {
        int t = positions[0].length;
        int end = Math.addExact(start, t);
        Rotary.Table cached;
        synchronized (this) {
            cached = consecutive.get(device);
            if (cached == null || cached.cos().dim(1) < end || !cached.usableOn(device)) {
                int length = Math.max(MIN_CACHED_POSITIONS, Integer.highestOneBit(end - 1) << 1);
                int[][] sequence = new int[1][length];
                for (int p = 0; p < length; p++) {
                    sequence[0][p] = p;
                }
                cached = Rotary.Table.of(device, tableScope.get(), sequence, new float[][]{invFreq}, attentionScaling,
                        positionFactor);
                consecutive.put(device, cached);
            }
        }
        Shape shape = Shape.of(positions.length, t, invFreq.length);
        return new Rotary.Table(positions, rows(cached.cos(), start, end, shape), rows(cached.sin(), start, end, shape));
    }

    private static Tensor rows(Tensor table, int start, int end, Shape shape) {
        return table.slice(1, start, end).expand(shape);
    }

    /**
     * The frequencies of a rotary configuration (default, linear, Llama 3, YaRN, longrope or Hunyuan's dynamic
     * scaling with an alpha).
     *
     * @param rope the rotary settings
     * @param headDim the rotated dimensions of a head: its size D, or less with a partial rotary factor; even
     * @return the frequencies
     */
    public static RotaryFrequencies of(RopeConfig rope, int headDim) {
        if (rope.ropeType().equals("longrope")) {
            return longrope(rope, headDim);
        }
        float[] base = defaultFrequencies(rope.ropeTheta(), headDim);
        return switch (rope.ropeType()) {
            case "default" -> new RotaryFrequencies(base, 1f);
            case "linear" -> {
                for (int i = 0; i < base.length; i++) {
                    base[i] = (float) (base[i] / rope.factor());
                }
                yield new RotaryFrequencies(base, 1f);
            }
            case "llama3" -> new RotaryFrequencies(llama3(base, rope), 1f);
            case "yarn" -> yarn(rope, headDim);
            case "proportional" -> new RotaryFrequencies(proportional(base, rope), 1f);
            // Hunyuan's fixed NTK base (its forward switches to length-dependent scaling only past
            // max_position_embeddings, which LanguageModel refuses)
            case "dynamic" -> new RotaryFrequencies(defaultFrequencies(
                    rope.ropeTheta() * Math.pow(rope.alpha(), headDim / (headDim - 2.0)), headDim), 1f);
            default -> throw new IllegalArgumentException("unsupported rope_type " + rope.ropeType());
        };
    }

    /**
     * Gemma 4's "proportional" rotary over a whole head of d: its first {@code floor(fraction d / 2)} pairs turn at
     * theta^(-2i / d) (the exponent over the whole head, not the turning part), the others at frequency 0 (they pass
     * unchanged); every frequency divided by {@code factor}.
     */
    private static float[] proportional(float[] base, RopeConfig rope) {
        int turning = (int) Math.floor(rope.rotatedFraction() * base.length); // fraction d / 2, d = 2 base.length
        for (int i = 0; i < base.length; i++) {
            base[i] = i < turning ? (float) (base[i] / rope.factor()) : 0f;
        }
        return base;
    }

    /** inv_freq[i] = 1 / theta^(2i / d), in float32 like torch. */
    private static float[] defaultFrequencies(double theta, int dim) {
        return dividedFrequencies(theta, dim, null);
    }

    /** inv_freq[i] = 1 / (divisors[i] * theta^(2i / d)) in float32 like torch, or without divisors when null. */
    private static float[] dividedFrequencies(double theta, int dim, double[] divisors) {
        float[] f = new float[dim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            float power = (float) Math.pow(theta, exponent);
            f[i] = 1f / (divisors == null ? power : (float) divisors[i] * power);
        }
        return f;
    }

    /**
     * Phi-3's longrope (LongRoPE, Ding et al. 2024): per-pair divisors of the frequencies, short ones up to the
     * pretrained length and long ones beyond, and cos/sin scaled by sqrt(1 + ln(factor) / ln(original length)).
     */
    private static RotaryFrequencies longrope(RopeConfig r, int dim) {
        if (r.shortFactor().length != dim / 2) {
            throw new IllegalArgumentException("config.json: longrope's factor lists have " + r.shortFactor().length
                    + " entries, but the heads rotate " + dim + " dimensions, so " + dim / 2
                    + " pairs: check head_dim and partial_rotary_factor");
        }
        double scaling = !Double.isNaN(r.attentionFactor()) ? r.attentionFactor()
                : r.factor() <= 1 ? 1.0
                : Math.sqrt(1 + Math.log(r.factor()) / Math.log(r.originalMaxPositionEmbeddings()));
        RotaryFrequencies longer = new RotaryFrequencies(dividedFrequencies(r.ropeTheta(), dim, r.longFactor()),
                (float) scaling);
        return new RotaryFrequencies(dividedFrequencies(r.ropeTheta(), dim, r.shortFactor()), (float) scaling)
                .switchingBeyond(r.originalMaxPositionEmbeddings(), longer);
    }

    /** Llama 3.1: keep high frequencies, divide low ones by factor, interpolate smoothly between. */
    private static float[] llama3(float[] inv, RopeConfig r) {
        double lowWavelen = r.originalMaxPositionEmbeddings() / r.lowFreqFactor();
        double highWavelen = r.originalMaxPositionEmbeddings() / r.highFreqFactor();
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                out[i] = (float) (inv[i] / r.factor());
            } else if (wavelen < highWavelen) {
                out[i] = inv[i];
            } else {
                double smooth = (r.originalMaxPositionEmbeddings() / wavelen - r.lowFreqFactor()) / (r.highFreqFactor() - r.lowFreqFactor());
                out[i] = (float) ((1 - smooth) * inv[i] / r.factor() + smooth * inv[i]);
            }
        }
        return out;
    }

    /** YaRN (Peng et al. 2023, section 3.2): blend interpolated and extrapolated frequencies by a linear ramp. */
    private static RotaryFrequencies yarn(RopeConfig r, int dim) {
        double base = r.ropeTheta();
        double factor = r.factor();
        double scaling = Double.isNaN(r.attentionFactor()) ? (factor <= 1 ? 1.0 : 0.1 * Math.log(factor) + 1.0) : r.attentionFactor();
        int maxPos = r.originalMaxPositionEmbeddings();
        double low = correctionDim(r.betaFast(), dim, base, maxPos);
        double high = correctionDim(r.betaSlow(), dim, base, maxPos);
        if (r.truncate()) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001; // avoid a zero-width ramp
        }
        int half = dim / 2;
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            float posFreq = (float) Math.pow(base, (float) (2 * i) / (float) dim);
            float extrapolation = 1f / posFreq;
            float interpolation = (float) (1.0 / (factor * posFreq));
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            float extrapolationFactor = (float) (1 - ramp);
            out[i] = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return new RotaryFrequencies(out, (float) scaling);
    }

    private static double correctionDim(double rotations, int dim, double base, int maxPos) {
        return (dim * Math.log(maxPos / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
    }
}
