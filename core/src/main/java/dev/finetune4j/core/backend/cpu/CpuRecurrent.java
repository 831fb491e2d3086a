package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.tensor.Tensor;


/**
 * Linear attention on the CPU: the convolution one task per chunk of rows (its filter gradient one per chunk of
 * channels), the gated recurrence one task per (batch row, head) in chunked form through the gemm kernel
 * ({@link ChunkedGatedRule}).
 */
final class CpuRecurrent implements RecurrentKernels {
    private final GemmKernel gemm;

    CpuRecurrent(GemmKernel gemm) {
        this.gemm = gemm;
    }

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
        // a generation's one-token calls without kept states take the token-by-token step (ChunkedGatedRule.oneToken)
        new ChunkedGatedRule(gemm, update, q, k, v, g, beta, offsets).forward(state, o, checkpoints);
    }

    @Override
    public void gatedRuleBackward(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta,
                                  Tensor offsets, Tensor checkpoints, Tensor dO, Tensor dq, Tensor dk, Tensor dv,
                                  Tensor dg, Tensor dBeta) {
        new ChunkedGatedRule(gemm, update, q, k, v, g, beta, offsets).backward(checkpoints, dO, dq, dk, dv, dg, dBeta);
    }
}
