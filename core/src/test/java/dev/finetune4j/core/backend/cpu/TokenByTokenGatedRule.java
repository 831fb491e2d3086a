package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;

import java.util.Arrays;

/**
 * The gated recurrence of {@link RecurrentKernels#gatedRule} token by token over float arrays, the reference that
 * {@link ChunkedGatedRule} is checked against (the CPU kernel before the chunked form): per token, S = exp(g) S,
 * the update's write, o = S^T q; the backward walks each chunk's tokens back from the recomputed states. Products in
 * float, sums in double.
 */
final class TokenByTokenGatedRule {
    private static final int INTERVAL = RecurrentKernels.STATE_INTERVAL;

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

    /** Operands in the kernel's layouts: q, k (B, T, H, Dk), v (B, T, H, Dv), g, beta (B, T, H), offsets (B, T). */
    TokenByTokenGatedRule(StateUpdate update, int batch, int tokens, int heads, int dk, int dv, float[] q, float[] k,
                          float[] v, float[] g, float[] beta, float[] offsets) {
        this.delta = update == StateUpdate.DELTA;
        this.batch = batch;
        this.tokens = tokens;
        this.heads = heads;
        this.dk = dk;
        this.dv = dv;
        this.qs = q;
        this.ks = k;
        this.vs = v;
        this.gs = g;
        this.betas = beta;
        this.offsets = offsets;
    }

    int chunks() {
        return (tokens + INTERVAL - 1) / INTERVAL;
    }

    /** The outputs (B, T, H, Dv); {@code state} (B, H, Dk, Dv) in and out; {@code kept} receives the states. */
    float[] forward(float[] state, float[] kept) {
        float[] out = new float[batch * tokens * heads * dv];
        int size = dk * dv;
        for (int bh = 0; bh < batch * heads; bh++) {
            float[] s = Arrays.copyOfRange(state, bh * size, (bh + 1) * size);
            float[] write = new float[dv];
            double[] sums = new double[dv];
            for (int t = 0; t < tokens; t++) {
                if (t % INTERVAL == 0) {
                    System.arraycopy(s, 0, kept, (bh * chunks() + t / INTERVAL) * size, size);
                }
                step(bh, t, s, write, sums);
                int row = row(bh, t);
                columnSums(s, 0, qs, row * dk, dk, dv, sums);
                for (int j = 0; j < dv; j++) {
                    out[row * dv + j] = (float) sums[j];
                }
            }
            System.arraycopy(s, 0, state, bh * size, size);
        }
        return out;
    }

    /** The gradients {dq, dk, dv, dg, dBeta} from the kept states and the outputs' gradient {@code dO}. */
    float[][] backward(float[] kept, float[] upstream) {
        float[] gq = new float[qs.length];
        float[] gk = new float[ks.length];
        float[] gv = new float[vs.length];
        float[] gg = new float[gs.length];
        float[] gb = new float[betas.length];
        int size = dk * dv;
        for (int bh = 0; bh < batch * heads; bh++) {
            float[] dS = new float[size];
            float[] before = new float[INTERVAL * size];
            float[] after = new float[size];
            float[] write = new float[dv];
            float[] m = new float[dv];
            float[] dWrite = new float[dv];
            double[] sums = new double[dv];
            for (int chunk = chunks() - 1; chunk >= 0; chunk--) {
                int first = chunk * INTERVAL;
                int last = Math.min(tokens, first + INTERVAL);
                System.arraycopy(kept, (bh * chunks() + chunk) * size, after, 0, size);
                for (int t = first; t < last; t++) {
                    if (resets(bh, t)) {
                        Arrays.fill(after, 0f);
                    }
                    System.arraycopy(after, 0, before, (t - first) * size, size);
                    step(bh, t, after, write, sums);
                }
                for (int t = last - 1; t >= first; t--) {
                    int row = row(bh, t);
                    int qk = row * dk;
                    int vo = row * dv;
                    int a = (t - first) * size;
                    float decay = (float) Math.exp(gs[row]);
                    float b = betas[row];
                    // m = D^T k with D = decay * S_before (zero for the additive update); write = beta (v - m)
                    if (delta) {
                        columnSums(before, a, ks, qk, dk, dv, sums);
                    }
                    for (int j = 0; j < dv; j++) {
                        m[j] = delta ? decay * (float) sums[j] : 0f;
                        write[j] = b * (vs[vo + j] - m[j]);
                    }
                    // dS += q dO^T; dq = S_t dO
                    for (int i = 0; i < dk; i++) {
                        double sum = 0;
                        for (int j = 0; j < dv; j++) {
                            float st = decay * before[a + i * dv + j] + ks[qk + i] * write[j];
                            dS[i * dv + j] += qs[qk + i] * upstream[vo + j];
                            sum += st * upstream[vo + j];
                        }
                        gq[qk + i] = (float) sum;
                    }
                    // S_t = D + k write^T: dk = dS write, dWrite = dS^T k
                    double dBetaSum = 0;
                    columnSums(dS, 0, ks, qk, dk, dv, sums);
                    for (int j = 0; j < dv; j++) {
                        dWrite[j] = (float) sums[j];
                        gv[vo + j] = b * dWrite[j];
                        dBetaSum += dWrite[j] * (vs[vo + j] - m[j]);
                    }
                    gb[row] = (float) dBetaSum;
                    // dm = -beta dWrite; dD = dS + k dm^T; dk += D dm; dg = <D, dD>; dS_before = decay dD
                    double dgSum = 0;
                    for (int i = 0; i < dk; i++) {
                        double dkSum = 0;
                        float ki = ks[qk + i];
                        for (int j = 0; j < dv; j++) {
                            float dm = delta ? -b * dWrite[j] : 0f;
                            float d = decay * before[a + i * dv + j];
                            dkSum += dS[i * dv + j] * write[j] + d * dm;
                            float dD = dS[i * dv + j] + ki * dm;
                            dgSum += d * dD;
                            dS[i * dv + j] = decay * dD;
                        }
                        gk[qk + i] = (float) dkSum;
                    }
                    gg[row] = (float) dgSum;
                    if (resets(bh, t)) {
                        Arrays.fill(dS, 0f);
                    }
                }
            }
        }
        return new float[][]{gq, gk, gv, gg, gb};
    }

    private boolean resets(int bh, int t) {
        return offsets != null && offsets[(bh / heads) * tokens + t] == 0f;
    }

    private int row(int bh, int t) {
        return ((bh / heads) * tokens + t) * heads + bh % heads;
    }

    /** s = exp(g) s; s += k (beta (v - s^T k))^T, or s += beta k v^T, from zeros at an example's first token. */
    private void step(int bh, int t, float[] s, float[] write, double[] sums) {
        if (resets(bh, t)) {
            Arrays.fill(s, 0f);
        }
        int row = row(bh, t);
        int qk = row * dk;
        int vo = row * dv;
        float decay = (float) Math.exp(gs[row]);
        float b = betas[row];
        if (delta) {
            columnSums(s, 0, ks, qk, dk, dv, sums);
        }
        for (int j = 0; j < dv; j++) {
            write[j] = b * (vs[vo + j] - (delta ? decay * (float) sums[j] : 0f));
        }
        for (int i = 0; i < dk; i++) {
            float ki = ks[qk + i];
            for (int j = 0; j < dv; j++) {
                s[i * dv + j] = decay * s[i * dv + j] + ki * write[j];
            }
        }
    }

    /** {@code sums[j] = sum_i m[at + i cols + j] w[wAt + i]}, products in float added in double. */
    private static void columnSums(float[] m, int at, float[] w, int wAt, int rows, int cols, double[] sums) {
        Arrays.fill(sums, 0, cols, 0.0);
        for (int i = 0; i < rows; i++) {
            float wi = w[wAt + i];
            int r = at + i * cols;
            for (int j = 0; j < cols; j++) {
                sums[j] += m[r + j] * wi;
            }
        }
    }
}
