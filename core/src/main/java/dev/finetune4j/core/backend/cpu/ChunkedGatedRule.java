package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The gated recurrence of {@link RecurrentKernels#gatedRule} in chunked (matrix) form, one task per (batch row,
 * head): the tokens between two kept states ({@value RecurrentKernels#STATE_INTERVAL}) form a chunk, cut further at
 * each packed example's first token, and a chunk of n tokens is a few (n, D) x (D, D) and (n, n) products through
 * the gemm kernel instead of n rank-one updates of the (Dk, Dv) state (Yang, Kautz and Hatamizadeh 2024, "Gated Delta
 * Networks"; the form transformers' PyTorch path computes).
 *
 * <p>Within a chunk from state S_0, with G_i the cumulative log decay up to token i (inclusive),
 * {@code e_i = exp(G_i)} and {@code E_ij = exp(G_i - G_j)} (j <= i, never above 1, so nothing overflows):
 * <pre>
 *   R_i = beta_i (v_i - e_i S_0^T k_i)            (beta_i v_i for the additive update)
 *   A_ij = beta_i E_ij k_i . k_j  (j < i)          (zero for the additive update)
 *   (I + A) W = R                                  W_i: what token i writes (v_new), by forward substitution
 *   P_ij = E_ij q_i . k_j  (j <= i)
 *   o_i = e_i S_0^T q_i + sum_j P_ij W_j
 *   S_n = e_{n-1} S_0 + sum_j E_{n-1,j} k_j W_j^T
 * </pre>
 * which is the token-by-token recurrence unrolled: token i's write is {@code beta_i (v_i - S_{i-1}'^T k_i)} where
 * S' is the decayed state, and every earlier write reaches it through the triangular system. The backward recomputes
 * a chunk from its kept state and differentiates these lines by hand (see {@link Workspace#backward}).
 */
final class ChunkedGatedRule {
    private static final int CHUNK = RecurrentKernels.STATE_INTERVAL;
    /**
     * The largest state (Dk x Dv) that a forward without kept states walks token by token: a chunk costs about
     * 2 n (Dk + Dv) more multiply-adds per token than the 3 Dk Dv of a step, three times the step's at 32 x 32 heads,
     * where the steps ran 1.5-2x faster on the CPU; from 48 x 48 the chunks' products are as fast or faster.
     */
    private static final int LARGEST_STATE_BY_TOKEN = 32 * 32;

    private final GemmKernel gemm;
    private final boolean delta;
    private final int batch;
    private final int tokens;
    private final int heads;
    private final int dk;
    private final int dv;
    private final float[] qs;
    private final float[] ks;
    private final float[] vs;
    private final float[] gs;
    private final float[] betas;
    private final float[] offsets;

    ChunkedGatedRule(GemmKernel gemm, StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta,
                     Tensor offsets) {
        this.gemm = gemm;
        delta = update == StateUpdate.DELTA;
        batch = q.dim(0);
        tokens = q.dim(1);
        heads = q.dim(2);
        dk = q.dim(3);
        dv = v.dim(3);
        qs = CpuTensors.read(q);
        ks = CpuTensors.read(k);
        vs = CpuTensors.read(v);
        gs = CpuTensors.read(g);
        betas = CpuTensors.read(beta);
        this.offsets = offsets == null ? null : CpuTensors.read(offsets);
    }

    /** See {@link RecurrentKernels#gatedRule}: outputs into {@code o}, the last state into {@code state}. */
    void forward(Tensor state, Tensor o, Tensor checkpoints) {
        float[] s0 = CpuTensors.accumulator(state);
        float[] out = CpuTensors.output(o);
        float[] kept = checkpoints == null ? null : CpuTensors.output(checkpoints);
        int size = dk * dv;
        if (kept == null && (tokens == 1 || (long) dk * dv <= LARGEST_STATE_BY_TOKEN)) {
            IntStream.range(0, batch * heads).parallel().forEach(bh -> {
                float[] s = Arrays.copyOfRange(s0, bh * size, (bh + 1) * size);
                tokenByToken(bh, s, out);
                System.arraycopy(s, 0, s0, bh * size, size);
            });
        } else {
            Parallel.ranges(batch * heads, (firstPair, endPair) -> {
                Workspace w = new Workspace();
                for (int bh = firstPair; bh < endPair; bh++) {
                    forwardPair(bh, w, s0, out, kept);
                }
            });
        }
        CpuTensors.commit(o, out);
        CpuTensors.commit(state, s0);
        if (kept != null) {
            CpuTensors.commit(checkpoints, kept);
        }
    }

    /** One (row, head) pair's chunks from its state in {@code s0}, where its last state goes. */
    private void forwardPair(int bh, Workspace w, float[] s0, float[] out, float[] kept) {
        int size = dk * dv;
        int chunks = chunks();
        float[] s = Arrays.copyOfRange(s0, bh * size, (bh + 1) * size);
        for (int chunk = 0; chunk < chunks; chunk++) {
            int first = chunk * CHUNK;
            if (kept != null) {
                System.arraycopy(s, 0, kept, (bh * chunks + chunk) * size, size);
            }
            for (int from = first, to; from < end(chunk); from = to) {
                to = segmentEnd(bh, from, end(chunk));
                if (resets(bh, from)) {
                    Arrays.fill(s, 0f);
                }
                w.prepare(bh, from, to - from, s);
                w.emit(bh, out);
                w.advance(s);
            }
        }
        System.arraycopy(s, 0, s0, bh * size, size);
    }

    /** See {@link RecurrentKernels#gatedRuleBackward}: per chunk from the last, from its kept state. */
    void backward(Tensor checkpoints, Tensor dO, Tensor dq, Tensor dk, Tensor dv, Tensor dg, Tensor dBeta) {
        float[] kept = CpuTensors.read(checkpoints);
        Gradients grads = new Gradients(CpuTensors.read(dO), CpuTensors.output(dq), CpuTensors.output(dk),
                CpuTensors.output(dv), CpuTensors.output(dg), CpuTensors.output(dBeta));
        Parallel.ranges(batch * heads, (firstPair, endPair) -> {
            Workspace w = new Workspace();
            for (int bh = firstPair; bh < endPair; bh++) {
                backwardPair(bh, w, kept, grads);
            }
        });
        CpuTensors.commit(dq, grads.dq);
        CpuTensors.commit(dk, grads.dk);
        CpuTensors.commit(dv, grads.dv);
        CpuTensors.commit(dg, grads.dg);
        CpuTensors.commit(dBeta, grads.dBeta);
    }

    /** One (row, head) pair's gradients, per chunk from the last, from its kept states. */
    private void backwardPair(int bh, Workspace w, float[] kept, Gradients grads) {
        int size = dk * dv;
        int chunks = chunks();
        float[] dS = new float[size]; // the gradient of the state after the segment at hand
        float[] dBefore = new float[size];
        float[] zeros = new float[size];
        float[] start = new float[size];
        int[] starts = new int[CHUNK + 1];
        for (int chunk = chunks - 1; chunk >= 0; chunk--) {
            int segments = 0;
            for (int from = chunk * CHUNK; from < end(chunk); from = segmentEnd(bh, from, end(chunk))) {
                starts[segments++] = from;
            }
            starts[segments] = end(chunk);
            System.arraycopy(kept, (bh * chunks + chunk) * size, start, 0, size);
            for (int seg = segments - 1; seg >= 0; seg--) {
                int from = starts[seg];
                // NOTE: only a chunk's first segment can start from a nonzero state: the others start examples
                float[] s = resets(bh, from) ? zeros : start;
                w.prepare(bh, from, starts[seg + 1] - from, s);
                w.backward(bh, s, dS, dBefore, grads);
                if (resets(bh, from)) {
                    Arrays.fill(dBefore, 0f); // the example's first token replaced the state before it by zeros
                }
                float[] swap = dS;
                dS = dBefore;
                dBefore = swap;
            }
        }
    }

    /** The gradients' arrays: {@code dO} read, the others written row by row. */
    private record Gradients(float[] dO, float[] dq, float[] dk, float[] dv, float[] dg, float[] dBeta) {
    }

    private int chunks() {
        return (tokens + CHUNK - 1) / CHUNK;
    }

    private int end(int chunk) {
        return Math.min(tokens, (chunk + 1) * CHUNK);
    }

    /**
     * The pair's tokens one by one, s = e s + k (beta (v - e s^T k))^T (the additive update: + beta k v^T), then
     * o = s^T q, walking the state row by row with double sums: a forward without kept states at small heads (see
     * {@link #LARGEST_STATE_BY_TOKEN}), and every one-token call without them. NOTE: a generation's steps are such
     * calls; through a segment's workspace and products they ran at 0.75x this (32 pairs of 128 x 128 states).
     */
    private void tokenByToken(int bh, float[] s, float[] out) {
        double[] sums = new double[dv];
        float[] write = new float[dv];
        for (int t = 0; t < tokens; t++) {
            if (resets(bh, t)) {
                Arrays.fill(s, 0f);
            }
            int r = row(bh, t);
            float decay = (float) Math.exp(gs[r]);
            if (delta) {
                stateTimes(s, ks, r * dk, sums);
            }
            for (int c = 0; c < dv; c++) {
                write[c] = betas[r] * (vs[r * dv + c] - (delta ? decay * (float) sums[c] : 0f));
            }
            for (int i = 0; i < dk; i++) {
                float ki = ks[r * dk + i];
                for (int c = 0; c < dv; c++) {
                    s[i * dv + c] = decay * s[i * dv + c] + ki * write[c];
                }
            }
            stateTimes(s, qs, r * dk, sums);
            for (int c = 0; c < dv; c++) {
                out[r * dv + c] = (float) sums[c];
            }
        }
    }

    /** {@code sums = s^T x} for the (Dk, Dv) state and x at {@code xAt}: each product rounded to float, summed in double. */
    private void stateTimes(float[] s, float[] x, int xAt, double[] sums) {
        Arrays.fill(sums, 0.0);
        for (int i = 0; i < dk; i++) {
            float xi = x[xAt + i];
            for (int c = 0; c < dv; c++) {
                sums[c] += s[i * dv + c] * xi;
            }
        }
    }

    /** The end of the segment from token {@code from}: the next example's first token, or {@code end}. */
    private int segmentEnd(int bh, int from, int end) {
        int t = from + 1;
        while (t < end && !resets(bh, t)) {
            t++;
        }
        return t;
    }

    /** Whether token t of the (b, h) pair {@code bh} starts a packed example: the state before it is zero. */
    private boolean resets(int bh, int t) {
        return offsets != null && offsets[(bh / heads) * tokens + t] == 0f;
    }

    /** The (b, t, h) index of token t of the (b, h) pair {@code bh}. */
    private int row(int bh, int t) {
        return ((bh / heads) * tokens + t) * heads + bh % heads;
    }

    /**
     * One task's buffers for a segment of at most {@value #CHUNK} tokens, (n, D) row-major with n the segment's
     * length; {@link #prepare} fills the forward's intermediates, which {@link #emit}, {@link #advance} and
     * {@link #backward} read.
     */
    private final class Workspace {
        /** The longest segment: a chunk, or all the tokens when fewer (a generation's one-token steps). */
        private final int rows = Math.min(CHUNK, tokens);
        private int first;
        private int n;
        private final float[] q = new float[rows * dk];
        private final float[] k = new float[rows * dk];
        private final float[] v = new float[rows * dv];
        private final float[] beta = new float[rows];
        private final double[] cum = new double[rows];
        /** e_i = exp(G_i). */
        private final float[] e = new float[rows];
        /** E_ij = exp(G_i - G_j) for j <= i, (n, n). */
        private final float[] decay = new float[rows * rows];
        /** k_i . k_j, (n, n). */
        private final float[] kk = new float[rows * rows];
        /** A_ij, strictly lower, (n, n). */
        private final float[] a = new float[rows * rows];
        /** P_ij, lower with the diagonal, (n, n). */
        private final float[] p = new float[rows * rows];
        /** S_0^T q_i and S_0^T k_i, (n, Dv). */
        private final float[] qs0 = new float[rows * dv];
        private final float[] ks0 = new float[rows * dv];
        /** v_i - e_i S_0^T k_i (v_i for the additive update): R_i / beta_i. */
        private final float[] resid = new float[rows * dv];
        /** W, what each token writes, (n, Dv). */
        private final float[] w = new float[rows * dv];
        /** E_{n-1,j} k_j, (n, Dk). */
        private final float[] kd = new float[rows * dk];
        private final float[] o = new float[rows * dv];
        private final double[] solved = new double[rows * dv];
        // the backward's
        private final float[] dO = new float[rows * dv];
        private final float[] dW = new float[rows * dv];
        private final float[] dR = new float[rows * dv];
        private final float[] dQs0 = new float[rows * dv];
        private final float[] dKs0 = new float[rows * dv];
        private final float[] dP = new float[rows * rows];
        private final float[] dA = new float[rows * rows];
        private final float[] dKd = new float[rows * dk];
        private final float[] dQ = new float[rows * dk];
        private final float[] dK = new float[rows * dk];
        private final double[] dG = new double[rows];
        private final double[] dE = new double[rows];
        private final double[] dBeta = new double[rows];

        /** Gathers tokens [first, first + n) of {@code bh} and computes the forward's intermediates from state s. */
        void prepare(int bh, int first, int n, float[] s) {
            this.first = first;
            this.n = n;
            double sum = 0;
            for (int i = 0; i < n; i++) {
                int r = row(bh, first + i);
                System.arraycopy(qs, r * dk, q, i * dk, dk);
                System.arraycopy(ks, r * dk, k, i * dk, dk);
                System.arraycopy(vs, r * dv, v, i * dv, dv);
                beta[i] = betas[r];
                sum += gs[r];
                cum[i] = sum;
                e[i] = (float) Math.exp(sum);
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j <= i; j++) {
                    decay[i * n + j] = (float) Math.exp(cum[i] - cum[j]);
                }
            }
            gemm.gemm(q, 0, false, s, 0, false, qs0, 0, n, dv, dk, false);
            if (delta) {
                gemm.gemm(k, 0, false, s, 0, false, ks0, 0, n, dv, dk, false);
                gemm.gemm(k, 0, false, k, 0, true, kk, 0, n, n, dk, false);
            }
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < dv; c++) {
                    int at = i * dv + c;
                    resid[at] = delta ? v[at] - e[i] * ks0[at] : v[at];
                    w[at] = beta[i] * resid[at];
                }
            }
            if (delta) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        a[i * n + j] = j < i ? beta[i] * decay[i * n + j] * kk[i * n + j] : 0f;
                    }
                }
                // (I + A) W = R, row by row: W_i = R_i - sum_{j < i} A_ij W_j
                substitute(w, false);
            }
            gemm.gemm(q, 0, false, k, 0, true, p, 0, n, n, dk, false);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    p[i * n + j] = j <= i ? p[i * n + j] * decay[i * n + j] : 0f;
                }
            }
            for (int j = 0; j < n; j++) {
                float d = decay[(n - 1) * n + j];
                for (int c = 0; c < dk; c++) {
                    kd[j * dk + c] = d * k[j * dk + c];
                }
            }
        }

        /**
         * Solves (I + A) X = Y in place for the (n, Dv) rows of {@code rows} by forward substitution, or
         * (I + A)^T X = Y by back substitution when {@code transposed}. NOTE: in double: each row sums up to 63
         * earlier ones whose weights the unit-lower inverse can grow, and float sums here moved the reference
         * fixture's logits by several times their distance from PyTorch's.
         */
        private void substitute(float[] rows, boolean transposed) {
            for (int x = 0; x < n * dv; x++) {
                solved[x] = rows[x];
            }
            for (int step = 1; step < n; step++) {
                int i = transposed ? n - 1 - step : step; // the row solved now, from the rows solved before it
                for (int m = 0; m < step; m++) {
                    int j = transposed ? n - 1 - m : m;
                    double weight = transposed ? a[j * n + i] : a[i * n + j];
                    for (int c = 0; c < dv; c++) {
                        solved[i * dv + c] -= weight * solved[j * dv + c];
                    }
                }
            }
            for (int x = 0; x < n * dv; x++) {
                rows[x] = (float) solved[x];
            }
        }

        /** o_i = e_i S_0^T q_i + sum_j P_ij W_j, into the outputs' rows. */
        void emit(int bh, float[] out) {
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < dv; c++) {
                    o[i * dv + c] = e[i] * qs0[i * dv + c];
                }
            }
            gemm.gemm(p, 0, false, w, 0, false, o, 0, n, dv, n, true);
            for (int i = 0; i < n; i++) {
                System.arraycopy(o, i * dv, out, row(bh, first + i) * dv, dv);
            }
        }

        /** S = e_{n-1} S + sum_j E_{n-1,j} k_j W_j^T: the state after the segment, in place. */
        void advance(float[] s) {
            float gamma = e[n - 1];
            for (int i = 0; i < dk * dv; i++) {
                s[i] *= gamma;
            }
            gemm.gemm(kd, 0, true, w, 0, false, s, 0, dk, dv, n, true);
        }

        /**
         * The segment's backward from s (its starting state, as given to {@link #prepare}) and dS (the gradient of
         * the state after it): the gradients of its tokens into {@code grads}, the gradient of s into
         * {@code dBefore}. Each step differentiates the forward line named in its comment.
         */
        void backward(int bh, float[] s, float[] dS, float[] dBefore, Gradients grads) {
            for (int i = 0; i < n; i++) {
                System.arraycopy(grads.dO, row(bh, first + i) * dv, dO, i * dv, dv);
            }
            Arrays.fill(dG, 0, n, 0.0);
            // S_n = e_{n-1} S_0 + Kd^T W, Kd_j = E_{n-1,j} k_j: dS_0 = e_{n-1} dS, dKd = W dS^T, dW = Kd dS
            float gamma = e[n - 1];
            double dGamma = 0;
            for (int i = 0; i < dk * dv; i++) {
                dGamma += (double) dS[i] * s[i];
                dBefore[i] = gamma * dS[i];
            }
            dG[n - 1] += gamma * dGamma;
            gemm.gemm(w, 0, false, dS, 0, true, dKd, 0, n, dk, dv, false);
            gemm.gemm(kd, 0, false, dS, 0, false, dW, 0, n, dv, dk, false);
            // o_i = e_i S_0^T q_i + (P W)_i: dW += P^T dO, dP = dO W^T, d(S_0^T q_i) = e_i dO_i, de_i = dO_i . S_0^T q_i
            gemm.gemm(p, 0, true, dO, 0, false, dW, 0, n, dv, n, true);
            gemm.gemm(dO, 0, false, w, 0, true, dP, 0, n, n, dv, false);
            for (int i = 0; i < n; i++) {
                double de = 0;
                for (int c = 0; c < dv; c++) {
                    de += (double) dO[i * dv + c] * qs0[i * dv + c];
                    dQs0[i * dv + c] = e[i] * dO[i * dv + c];
                }
                dE[i] = de;
            }
            // S_0^T q_i: dS_0 += Q^T dQs0, dq = dQs0 S_0^T
            gemm.gemm(q, 0, true, dQs0, 0, false, dBefore, 0, dk, dv, n, true);
            gemm.gemm(dQs0, 0, false, s, 0, true, dQ, 0, n, dk, dv, false);
            // (I + A) W = R: dR = (I + A)^-T dW by back substitution, dA = -dR W^T (strictly lower)
            System.arraycopy(dW, 0, dR, 0, n * dv);
            if (delta) {
                substitute(dR, true);
                gemm.gemm(dR, 0, false, w, 0, true, dA, 0, n, n, dv, false);
            }
            // R_i = beta_i (v_i - e_i S_0^T k_i): dv_i = beta_i dR_i, dBeta_i = dR_i . (R_i / beta_i),
            // d(S_0^T k_i) = -beta_i e_i dR_i, de_i -= beta_i dR_i . S_0^T k_i
            for (int i = 0; i < n; i++) {
                double db = 0;
                double de = 0;
                int r = row(bh, first + i);
                for (int c = 0; c < dv; c++) {
                    int at = i * dv + c;
                    db += (double) dR[at] * resid[at];
                    grads.dv[r * dv + c] = beta[i] * dR[at];
                    if (delta) {
                        de += (double) dR[at] * ks0[at];
                        dKs0[at] = -beta[i] * e[i] * dR[at];
                    }
                }
                dBeta[i] = db;
                dE[i] -= beta[i] * de;
            }
            if (delta) {
                // S_0^T k_i: dS_0 += K^T dKs0, dk = dKs0 S_0^T
                gemm.gemm(k, 0, true, dKs0, 0, false, dBefore, 0, dk, dv, n, true);
                gemm.gemm(dKs0, 0, false, s, 0, true, dK, 0, n, dk, dv, false);
                // A_ij = beta_i E_ij k_i . k_j: dBeta_i += -dR_i . W_j E_ij k_i . k_j; d(k_i . k_j) into dA's
                // symmetric place (both keys get it); dG_i += dA_ij A_ij, dG_j -= dA_ij A_ij
                for (int i = 0; i < n; i++) {
                    double db = 0;
                    for (int j = 0; j < i; j++) {
                        float da = -dA[i * n + j];
                        db += (double) da * decay[i * n + j] * kk[i * n + j];
                        double dLog = (double) da * a[i * n + j];
                        dG[i] += dLog;
                        dG[j] -= dLog;
                        float dkk = da * beta[i] * decay[i * n + j];
                        dA[i * n + j] = dkk;
                        dA[j * n + i] = dkk;
                    }
                    dA[i * n + i] = 0f;
                    dBeta[i] += db;
                }
                gemm.gemm(dA, 0, false, k, 0, false, dK, 0, n, dk, n, true);
            } else {
                Arrays.fill(dK, 0, n * dk, 0f);
            }
            // P_ij = E_ij q_i . k_j (j <= i): d(q_i . k_j) = dP_ij E_ij; dG_i += dP_ij P_ij, dG_j -= dP_ij P_ij
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    int at = i * n + j;
                    if (j <= i) {
                        double dLog = (double) dP[at] * p[at];
                        dG[i] += dLog;
                        dG[j] -= dLog;
                        dP[at] *= decay[at];
                    } else {
                        dP[at] = 0f;
                    }
                }
            }
            gemm.gemm(dP, 0, false, k, 0, false, dQ, 0, n, dk, n, true);
            gemm.gemm(dP, 0, true, q, 0, false, dK, 0, n, dk, n, true);
            // Kd_j = E_{n-1,j} k_j: dk_j += E_{n-1,j} dKd_j; dG_{n-1} += dKd_j . Kd_j, dG_j -= dKd_j . Kd_j
            for (int j = 0; j < n; j++) {
                float d = decay[(n - 1) * n + j];
                double dLog = 0;
                for (int c = 0; c < dk; c++) {
                    dLog += (double) dKd[j * dk + c] * kd[j * dk + c];
                    dK[j * dk + c] += d * dKd[j * dk + c];
                }
                dG[n - 1] += dLog;
                dG[j] -= dLog;
            }
            // e_i = exp(G_i): dG_i += de_i e_i; G_i = sum_{j <= i} g_j: dg_j = sum_{i >= j} dG_i
            double dg = 0;
            for (int i = n - 1; i >= 0; i--) {
                dg += dG[i] + dE[i] * e[i];
                int r = row(bh, first + i);
                grads.dg[r] = (float) dg;
                grads.dBeta[r] = (float) dBeta[i];
                System.arraycopy(dQ, i * dk, grads.dq, r * dk, dk);
                System.arraycopy(dK, i * dk, grads.dk, r * dk, dk);
            }
        }
    }

}
