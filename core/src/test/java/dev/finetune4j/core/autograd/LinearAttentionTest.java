package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The convolution and the gated recurrences of the gated DeltaNet (delta rule) and Mamba-2 (additive update) against
 * naive float64 forwards written here from their definitions, their backwards against finite differences (over more
 * tokens than one kept state covers, so that the backward's recomputation crosses a chunk boundary), and the state a
 * generation carries across calls.
 */
class LinearAttentionTest {
    private static final int B = 2;
    private static final int T = 5;
    private static final int C = 3;
    private static final int K = 4;

    /**
     * silu(bias[c] + sum_j w[c, j] in[t + j - (K - 1)]) with zeros, or the given past inputs, before the first token,
     * and zeros before token {@code first[b * T + t]} (the first of its packed example) when {@code first} is given;
     * no bias when {@code bias} is null.
     */
    private static double[] convReference(double[] x, double[] w, double[] bias, double[] past, int[] first) {
        return convReference(x, w, bias, past, first, true);
    }

    /** {@link #convReference(double[], double[], double[], double[], int[])}, without the SiLU unless {@code silu}. */
    private static double[] convReference(double[] x, double[] w, double[] bias, double[] past, int[] first,
                                          boolean silu) {
        double[] y = new double[x.length];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int c = 0; c < C; c++) {
                    double sum = bias == null ? 0 : bias[c];
                    for (int j = 0; j < K; j++) {
                        int s = t + j - (K - 1);
                        double in = s >= 0 ? x[(b * T + s) * C + c] : past == null ? 0 : past[(b * (K - 1) + K - 1 + s) * C + c];
                        sum += first != null && s < first[b * T + t] ? 0 : w[c * K + j] * in;
                    }
                    y[(b * T + t) * C + c] = silu ? sum / (1 + Math.exp(-sum)) : sum;
                }
            }
        }
        return y;
    }

    @Test
    void convolutionFromZerosMatchesItsDefinition() {
        GradCheck.of("causalConv1d + silu", t -> LinearAttention.causalConv1d(t[0], t[1], null, null, null, true))
                .input(B, T, C).input(C, K)
                .reference(d -> convReference(d[0], d[1], null, null, null)).run();
    }

    @Test
    void convolutionWithBiasesMatchesItsDefinition() {
        GradCheck.of("causalConv1d + silu with biases", t -> LinearAttention.causalConv1d(t[0], t[1], t[2], null, null, true))
                .input(B, T, C).input(C, K).input(C)
                .reference(d -> convReference(d[0], d[1], d[2], null, null)).run();
    }

    /** LFM2's convolution: the same without the SiLU, packed and after a generation's past inputs. */
    @Test
    void convolutionWithoutSiluMatchesItsDefinition() {
        int[] first = {0, 0, 2, 2, 2, 0, 1, 2, 2, 2};
        GradCheck.of("causalConv1d without silu, packed", t -> LinearAttention.causalConv1d(t[0], t[1], t[2], null,
                        offsets(first, T), false))
                .input(B, T, C).input(C, K).input(C)
                .reference(d -> convReference(d[0], d[1], d[2], null, first, false)).run();
        float[] past = GradCheck.randn(12, B * (K - 1) * C);
        double[] pastValues = doubles(past);
        GradCheck.of("causalConv1d without silu, with past", t -> LinearAttention.causalConv1d(t[0], t[1], t[2],
                        Tensor.of(past, B, K - 1, C), null, false))
                .input(B, T, C).input(C, K).input(C)
                .reference(d -> convReference(d[0], d[1], d[2], pastValues, null, false)).run();
    }

    /** Row 0 packs examples of 2 and 3 tokens, row 1 of 1, 1 and 3: no tap reads across an example's start. */
    @Test
    void convolutionOfPackedExamplesReadsNoOtherExample() {
        int[] first = {0, 0, 2, 2, 2, 0, 1, 2, 2, 2};
        GradCheck.of("causalConv1d + silu, packed", t -> LinearAttention.causalConv1d(t[0], t[1], t[2], null,
                        offsets(first, T), true))
                .input(B, T, C).input(C, K).input(C)
                .reference(d -> convReference(d[0], d[1], d[2], null, first)).run();
    }

    private static double[] doubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    /** Each token's position within its example, (rows, tokens), from the first token of its example. */
    private static Tensor offsets(int[] first, int tokens) {
        float[] v = new float[first.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = i % tokens - first[i];
        }
        return Tensor.of(v, first.length / tokens, tokens);
    }

    @Test
    void convolutionReadsThePastInputsOfAGeneration() {
        float[] past = GradCheck.randn(11, B * (K - 1) * C);
        double[] pastValues = doubles(past);
        GradCheck.of("causalConv1d + silu with past", t -> LinearAttention.causalConv1d(t[0], t[1], t[2],
                        Tensor.of(past, B, K - 1, C), null, true))
                .input(B, T, C).input(C, K).input(C)
                .reference(d -> convReference(d[0], d[1], d[2], pastValues, null)).run();
    }

    private static final int H = 2;
    private static final int DK = 3;
    private static final int DV = 2;

    /**
     * Per (b, h) and token: S = exp(g) S; S += k (beta (v - S^T k))^T (the delta rule) or S += beta k v^T (the
     * additive update); o = S^T q, in float64 from zeros, and from zeros again at each token that {@code first}
     * (when given, [b * t + p] the first token of p's packed example) marks as its example's first.
     */
    private static double[] ruleReference(StateUpdate update, double[] q, double[] k, double[] v, double[] g,
                                          double[] beta, int b, int t, int[] first) {
        double[] o = new double[b * t * H * DV];
        for (int bh = 0; bh < b * H; bh++) {
            double[][] s = new double[DK][DV];
            for (int p = 0; p < t; p++) {
                if (first != null && first[(bh / H) * t + p] == p) {
                    s = new double[DK][DV];
                }
                int row = ((bh / H) * t + p) * H + bh % H;
                double decay = Math.exp(g[row]);
                double[] kv = new double[DV];
                for (int i = 0; i < DK; i++) {
                    for (int j = 0; j < DV; j++) {
                        s[i][j] *= decay;
                        kv[j] += s[i][j] * k[row * DK + i];
                    }
                }
                for (int i = 0; i < DK; i++) {
                    for (int j = 0; j < DV; j++) {
                        double predicted = update == StateUpdate.DELTA ? kv[j] : 0;
                        s[i][j] += k[row * DK + i] * beta[row] * (v[row * DV + j] - predicted);
                    }
                }
                for (int j = 0; j < DV; j++) {
                    for (int i = 0; i < DK; i++) {
                        o[row * DV + j] += s[i][j] * q[row * DK + i];
                    }
                }
            }
        }
        return o;
    }

    private static float[] decays(long seed, int n) {
        float[] g = GradCheck.uniform(seed, n, 0.02, 0.6);
        for (int i = 0; i < n; i++) {
            g[i] = -g[i];
        }
        return g;
    }

    @Test
    void deltaRuleAcrossAKeptStateMatchesItsDefinition() {
        acrossAKeptStateMatchesItsDefinition(StateUpdate.DELTA);
    }

    @Test
    void additiveUpdateAcrossAKeptStateMatchesItsDefinition() {
        acrossAKeptStateMatchesItsDefinition(StateUpdate.ADDITIVE);
    }

    /**
     * Packed examples starting at tokens 0, 30, 64 (the second kept state's token) and 66, one of them two tokens long:
     * each starts from a zero state, and no gradient crosses an example's start.
     */
    @Test
    void packedExamplesAcrossAKeptStateMatchTheirDefinition() {
        int t = RecurrentKernels.STATE_INTERVAL + 6;
        int[] first = new int[t];
        for (int p = 0; p < t; p++) {
            first[p] = p >= 66 ? 66 : p >= RecurrentKernels.STATE_INTERVAL ? RecurrentKernels.STATE_INTERVAL : p >= 30 ? 30 : 0;
        }
        for (StateUpdate update : StateUpdate.values()) {
            acrossAKeptStateMatchesItsDefinition(update, first);
        }
    }

    private static void acrossAKeptStateMatchesItsDefinition(StateUpdate update) {
        acrossAKeptStateMatchesItsDefinition(update, null);
    }

    private static void acrossAKeptStateMatchesItsDefinition(StateUpdate update, int[] first) {
        int b = 1;
        int t = RecurrentKernels.STATE_INTERVAL + 6; // the backward recomputes two chunks
        GradCheck.of("gatedRule " + update + (first == null ? "" : ", packed"), x -> LinearAttention.gatedRule(update,
                        x[0], x[1], x[2], x[3], x[4], null, first == null ? null : offsets(first, t)))
                .input(GradCheck.uniform(1, b * t * H * DK, -0.6, 0.6), b, t, H, DK)
                .input(GradCheck.uniform(2, b * t * H * DK, -0.6, 0.6), b, t, H, DK)
                .input(b, t, H, DV)
                .input(decays(4, b * t * H), b, t, H)
                .input(GradCheck.uniform(5, b * t * H, 0.05, 0.95), b, t, H)
                .reference(d -> ruleReference(update, d[0], d[1], d[2], d[3], d[4], b, t, first)).run();
    }

    @Test
    void bothUpdatesOfTwoBatchRowsMatchTheirDefinitions() {
        int t = 4;
        for (StateUpdate update : StateUpdate.values()) {
            GradCheck.of("gatedRule " + update + ", two rows",
                            x -> LinearAttention.gatedRule(update, x[0], x[1], x[2], x[3], x[4], null, null))
                    .input(B, t, H, DK).input(B, t, H, DK).input(B, t, H, DV)
                    .input(decays(6, B * t * H), B, t, H)
                    .input(GradCheck.uniform(7, B * t * H, 0.05, 0.95), B, t, H)
                    .reference(d -> ruleReference(update, d[0], d[1], d[2], d[3], d[4], B, t, null)).run();
        }
    }

    /** A generation feeds its tokens in pieces: the state the first call leaves is where the second starts. */
    @Test
    void stateCarriedAcrossCallsEqualsOneCall() {
        int t = 9;
        int first = 6;
        float[][] in = {GradCheck.randn(21, B * t * H * DK), GradCheck.randn(22, B * t * H * DK),
                GradCheck.randn(23, B * t * H * DV), decays(24, B * t * H), GradCheck.uniform(25, B * t * H, 0.1, 0.9)};
        int[] widths = {DK, DK, DV, 1, 1};
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            Tensor[] whole = new Tensor[5];
            for (int i = 0; i < 5; i++) {
                whole[i] = widths[i] == 1 ? Tensor.of(in[i], B, t, H) : Tensor.of(in[i], B, t, H, widths[i]);
            }
            for (StateUpdate update : StateUpdate.values()) {
                float[] once = LinearAttention.gatedRule(update, whole[0], whole[1], whole[2], whole[3], whole[4], null,
                        null).toFloatArray();
                Tensor state = Tensor.zeros(scope, whole[0].device(), DType.F32, Shape.of(B, H, DK, DV));
                Tensor head = LinearAttention.gatedRule(update, whole[0].slice(1, 0, first),
                        whole[1].slice(1, 0, first), whole[2].slice(1, 0, first), whole[3].slice(1, 0, first),
                        whole[4].slice(1, 0, first), state, null);
                Tensor tail = LinearAttention.gatedRule(update, whole[0].slice(1, first, t),
                        whole[1].slice(1, first, t), whole[2].slice(1, first, t), whole[3].slice(1, first, t),
                        whole[4].slice(1, first, t), state, null);
                float[] pieces = Concat.cat(1, head, tail).toFloatArray();
                assertArrayEquals(once, pieces, 1e-6f, update.name());
            }
        }
    }

    @Test
    void mismatchedShapesAreRefused() {
        try (var scope = TensorScope.open()) {
            Tensor q = Tensor.zeros(1, 3, 2, 4);
            Tensor gates = Tensor.zeros(1, 3, 2);
            assertThrows(IllegalArgumentException.class, () -> LinearAttention.gatedRule(StateUpdate.DELTA, q, q, q,
                    gates, Tensor.zeros(1, 3, 1), null, null));
            assertThrows(IllegalArgumentException.class, () -> LinearAttention.causalConv1d(Tensor.zeros(1, 3, 2),
                    Tensor.zeros(3, 4), null, null, null, true));
            assertThrows(IllegalArgumentException.class, () -> LinearAttention.causalConv1d(Tensor.zeros(1, 3, 2),
                    Tensor.zeros(2, 4), Tensor.zeros(3), null, null, true));
            // packed examples start from nothing: no state beside them, and one offset per token
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LinearAttention.gatedRule(
                    StateUpdate.DELTA, q, q, q, gates, gates, Tensor.zeros(1, 2, 4, 4), Tensor.zeros(1, 3)));
            assertTrue(e.getMessage().contains("start from nothing"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> LinearAttention.gatedRule(StateUpdate.DELTA, q, q, q,
                    gates, gates, null, Tensor.zeros(1, 4)));
        }
    }
}
