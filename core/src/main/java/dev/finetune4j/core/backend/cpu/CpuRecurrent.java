package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Linear attention on the CPU: the convolution one task per chunk of rows (its filter gradient one per chunk of
 * channels), the gated recurrence one task per (batch row, head), each walking its tokens in order.
 */
final class CpuRecurrent implements RecurrentKernels {

    @Override
    public void causalConv1d(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets, boolean silu,
                             Tensor y) {
        Conv conv = new Conv(x, past, weight, bias, offsets);
        float[] out = CpuTensors.output(y);
        Parallel.chunks(conv.batch * conv.tokens, (from, to) -> {
            for (int row = from; row < to; row++) {
                for (int ch = 0; ch < conv.channels; ch++) {
                    double pre = conv.preActivation(row / conv.tokens, row % conv.tokens, ch);
                    out[row * conv.channels + ch] = (float) (silu ? pre / (1 + Math.exp(-pre)) : pre);
                }
            }
        });
        CpuTensors.commit(y, out);
    }

    @Override
    public void causalConv1dBackward(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets, boolean silu,
                                     Tensor dy, Tensor dx, Tensor dWeight, Tensor dBias) {
        Conv conv = new Conv(x, past, weight, bias, offsets);
        float[] upstream = CpuTensors.read(dy);
        int c = conv.channels;
        int k = conv.kernel;
        int t = conv.tokens;
        // the gradient before the SiLU, from the recomputed pre-activations
        float[] dPre = silu ? new float[upstream.length] : upstream; // without the SiLU, dy is the gradient before it
        if (silu) {
            Parallel.chunks(conv.batch * t, (from, to) -> {
                for (int row = from; row < to; row++) {
                    for (int ch = 0; ch < c; ch++) {
                        double pre = conv.preActivation(row / t, row % t, ch);
                        double s = 1 / (1 + Math.exp(-pre));
                        dPre[row * c + ch] = (float) (upstream[row * c + ch] * s * (1 + pre * (1 - s)));
                    }
                }
            });
        }
        float[] dIn = CpuTensors.output(dx);
        Parallel.chunks(conv.batch * t, (from, to) -> {
            for (int row = from; row < to; row++) {
                int b = row / t;
                int s = row % t;
                for (int ch = 0; ch < c; ch++) {
                    double sum = 0;
                    // input s feeds output s + (K - 1) - j through tap j, unless that output's example starts after s
                    for (int j = 0; j < k; j++) {
                        int out = s + k - 1 - j;
                        if (out < t && conv.reads(b, out, j)) {
                            sum += conv.w[ch * k + j] * dPre[(b * t + out) * c + ch];
                        }
                    }
                    dIn[row * c + ch] = (float) sum;
                }
            }
        });
        CpuTensors.commit(dx, dIn);
        if (dWeight != null) {
            float[] dw = CpuTensors.output(dWeight);
            Parallel.chunks(c, (from, to) -> {
                for (int ch = from; ch < to; ch++) {
                    for (int j = 0; j < k; j++) {
                        double sum = 0;
                        for (int b = 0; b < conv.batch; b++) {
                            for (int s = 0; s < t; s++) {
                                sum += dPre[(b * t + s) * c + ch] * conv.tap(b, s, j, ch);
                            }
                        }
                        dw[ch * k + j] = (float) sum;
                    }
                }
            });
            CpuTensors.commit(dWeight, dw);
        }
        if (dBias != null) {
            float[] db = CpuTensors.output(dBias);
            Parallel.chunks(c, (from, to) -> {
                for (int ch = from; ch < to; ch++) {
                    double sum = 0;
                    for (int row = 0; row < conv.batch * t; row++) {
                        sum += dPre[row * c + ch];
                    }
                    db[ch] = (float) sum;
                }
            });
            CpuTensors.commit(dBias, db);
        }
    }

    /** The convolution's operands and its pre-activation, shared by the forward and the backward. */
    private static final class Conv {
        final int batch;
        final int tokens;
        final int channels;
        final int kernel;
        final float[] in;
        final float[] before;
        final float[] w;
        final float[] bias;
        final float[] offsets;

        Conv(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets) {
            batch = x.dim(0);
            tokens = x.dim(1);
            channels = x.dim(2);
            kernel = weight.dim(1);
            in = CpuTensors.read(x);
            before = past == null ? null : CpuTensors.read(past);
            w = CpuTensors.read(weight);
            this.bias = bias == null ? null : CpuTensors.read(bias);
            this.offsets = offsets == null ? null : CpuTensors.read(offsets);
        }

        /** Whether tap {@code j} of token {@code t} of row {@code b} reads an input of the token's own example. */
        boolean reads(int b, int t, int j) {
            return offsets == null || kernel - 1 - j <= offsets[b * tokens + t];
        }

        /** The input that tap {@code j} of token {@code t} reads: token t + j - (K - 1), or zero across an example. */
        double tap(int b, int t, int j, int ch) {
            return reads(b, t, j) ? input(b, t + j - (kernel - 1), ch) : 0;
        }

        /** Input at token {@code s} of row {@code b}: {@code past}'s for s < 0 (zeros without one). */
        double input(int b, int s, int ch) {
            if (s >= 0) {
                return in[(b * tokens + s) * channels + ch];
            }
            return before == null ? 0 : before[(b * (kernel - 1) + kernel - 1 + s) * channels + ch];
        }

        double preActivation(int b, int s, int ch) {
            double sum = bias == null ? 0 : bias[ch];
            for (int j = 0; j < kernel; j++) {
                sum += w[ch * kernel + j] * tap(b, s, j, ch);
            }
            return sum;
        }
    }

    @Override
    public void gatedRule(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor offsets,
                          Tensor state, Tensor o, Tensor checkpoints) {
        Rule rule = new Rule(update, q, k, v, g, beta, offsets);
        float[] s0 = CpuTensors.accumulator(state);
        float[] out = CpuTensors.output(o);
        float[] kept = checkpoints == null ? null : CpuTensors.output(checkpoints);
        int size = rule.dk * rule.dv;
        int chunks = rule.chunks();
        IntStream.range(0, rule.batch * rule.heads).parallel().forEach(bh -> {
            float[] s = new float[size];
            System.arraycopy(s0, bh * size, s, 0, size);
            float[] delta = new float[rule.dv];
            double[] sums = new double[rule.dv];
            for (int t = 0; t < rule.tokens; t++) {
                if (kept != null && t % STATE_INTERVAL == 0) {
                    System.arraycopy(s, 0, kept, (bh * chunks + t / STATE_INTERVAL) * size, size);
                }
                rule.step(bh, t, s, delta, sums);
                rule.read(bh, t, s, out, sums);
            }
            System.arraycopy(s, 0, s0, bh * size, size);
        });
        CpuTensors.commit(o, out);
        CpuTensors.commit(state, s0);
        if (kept != null) {
            CpuTensors.commit(checkpoints, kept);
        }
    }

    @Override
    public void gatedRuleBackward(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta,
                                  Tensor offsets, Tensor checkpoints, Tensor dO, Tensor dq, Tensor dk, Tensor dv,
                                  Tensor dg, Tensor dBeta) {
        Rule rule = new Rule(update, q, k, v, g, beta, offsets);
        float[] kept = CpuTensors.read(checkpoints);
        float[] upstream = CpuTensors.read(dO);
        float[] gq = CpuTensors.output(dq);
        float[] gk = CpuTensors.output(dk);
        float[] gv = CpuTensors.output(dv);
        float[] gg = CpuTensors.output(dg);
        float[] gb = CpuTensors.output(dBeta);
        int dkDim = rule.dk;
        int dvDim = rule.dv;
        int size = dkDim * dvDim;
        int chunks = rule.chunks();
        IntStream.range(0, rule.batch * rule.heads).parallel().forEach(bh -> {
            float[] dS = new float[size];
            float[] before = new float[STATE_INTERVAL * size]; // each token's state before it, within one chunk
            float[] after = new float[size];
            float[] delta = new float[dvDim];
            float[] m = new float[dvDim];
            float[] dDelta = new float[dvDim];
            double[] sums = new double[dvDim];
            for (int chunk = chunks - 1; chunk >= 0; chunk--) {
                int first = chunk * STATE_INTERVAL;
                int last = Math.min(rule.tokens, first + STATE_INTERVAL);
                System.arraycopy(kept, (bh * chunks + chunk) * size, after, 0, size);
                for (int t = first; t < last; t++) {
                    if (rule.resets(bh, t)) {
                        Arrays.fill(after, 0f);
                    }
                    System.arraycopy(after, 0, before, (t - first) * size, size);
                    rule.step(bh, t, after, delta, sums);
                }
                for (int t = last - 1; t >= first; t--) {
                    int row = rule.row(bh, t);
                    int qk = row * dkDim;
                    int vo = row * dvDim;
                    int a = (t - first) * size;
                    float decay = (float) Math.exp(rule.gs[row]);
                    float b = rule.betas[row];
                    // m = D^T k with D = decay * A (zero for the additive update); delta = beta (v - m); S_t = D + k delta^T
                    if (rule.delta) {
                        columnSums(before, a, rule.ks, qk, dkDim, dvDim, sums);
                    }
                    for (int j = 0; j < dvDim; j++) {
                        m[j] = rule.delta ? decay * (float) sums[j] : 0f;
                        delta[j] = b * (rule.vs[vo + j] - m[j]);
                    }
                    // dS += q dO^T; dq = S_t dO
                    for (int i = 0; i < dkDim; i++) {
                        double sum = 0;
                        for (int j = 0; j < dvDim; j++) {
                            float st = decay * before[a + i * dvDim + j] + rule.ks[qk + i] * delta[j];
                            dS[i * dvDim + j] += rule.qs[qk + i] * upstream[vo + j];
                            sum += st * upstream[vo + j];
                        }
                        gq[qk + i] = (float) sum;
                    }
                    // from S_t = D + k delta^T: dk = dS delta, dDelta = dS^T k
                    double dBetaSum = 0;
                    columnSums(dS, 0, rule.ks, qk, dkDim, dvDim, sums);
                    for (int j = 0; j < dvDim; j++) {
                        dDelta[j] = (float) sums[j];
                        gv[vo + j] = b * dDelta[j];
                        dBetaSum += dDelta[j] * (rule.vs[vo + j] - m[j]);
                    }
                    gb[row] = (float) dBetaSum;
                    // dm = -beta dDelta (zero for the additive update); dD = dS + k dm^T; dk += D dm; dg = <D, dD>;
                    // dA = decay dD
                    double dgSum = 0;
                    for (int i = 0; i < dkDim; i++) {
                        double dkSum = 0;
                        float ki = rule.ks[qk + i];
                        for (int j = 0; j < dvDim; j++) {
                            float dm = rule.delta ? -b * dDelta[j] : 0f;
                            float d = decay * before[a + i * dvDim + j];
                            dkSum += dS[i * dvDim + j] * delta[j] + d * dm;
                            float dD = dS[i * dvDim + j] + ki * dm;
                            dgSum += d * dD;
                            dS[i * dvDim + j] = decay * dD;
                        }
                        gk[qk + i] = (float) dkSum;
                    }
                    gg[row] = (float) dgSum;
                    if (rule.resets(bh, t)) {
                        Arrays.fill(dS, 0f); // the example's first token replaced the state before it by zeros
                    }
                }
            }
        });
        CpuTensors.commit(dq, gq);
        CpuTensors.commit(dk, gk);
        CpuTensors.commit(dv, gv);
        CpuTensors.commit(dg, gg);
        CpuTensors.commit(dBeta, gb);
    }

    /** The recurrence's operands, and one token's update of a state. */
    private static final class Rule {
        final boolean delta;
        final int batch;
        final int tokens;
        final int heads;
        final int dk;
        final int dv;
        final float[] qs;
        final float[] ks;
        final float[] vs;
        final float[] gs;
        final float[] betas;
        final float[] offsets;

        Rule(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor offsets) {
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

        /** Whether token t of the (b, h) pair {@code bh} starts a packed example: the state before it is zero. */
        boolean resets(int bh, int t) {
            return offsets != null && offsets[(bh / heads) * tokens + t] == 0f;
        }

        int chunks() {
            return (tokens + STATE_INTERVAL - 1) / STATE_INTERVAL;
        }

        /** The (b, t, h) index of token t of the (b, h) pair {@code bh}. */
        int row(int bh, int t) {
            return ((bh / heads) * tokens + t) * heads + bh % heads;
        }

        /**
         * s = exp(g) s; s += k (beta (v - s^T k))^T, or s += beta k v^T for the additive update, from zeros at an
         * example's first token; {@code write} and {@code sums} are scratch of size Dv.
         */
        void step(int bh, int t, float[] s, float[] write, double[] sums) {
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

        /** o_t = s^T q_t; {@code sums} is scratch of size Dv. */
        void read(int bh, int t, float[] s, float[] out, double[] sums) {
            int row = row(bh, t);
            columnSums(s, 0, qs, row * dk, dk, dv, sums);
            for (int j = 0; j < dv; j++) {
                out[row * dv + j] = (float) sums[j];
            }
        }
    }

    /**
     * {@code sums[j] = sum_i m[at + i cols + j] w[wAt + i]}: each product rounded to float, added in double in the
     * order of i, walking the (rows, cols) matrix row by row (its rows are contiguous, its columns are not).
     */
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
