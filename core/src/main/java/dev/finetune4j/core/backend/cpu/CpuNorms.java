package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * RMSNorm and LayerNorm on the CPU: one parallel task per row for the statistics, y and dx; the weight and bias
 * gradients sum over rows in row order (float32), one pass after the parallel one.
 */
final class CpuNorms implements NormKernels {

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd) {
        int c = x.dim(-1);
        float[] xv = CpuTensors.read(x);
        float[] wv = CpuTensors.read(w);
        float[] rs = CpuTensors.output(rstd);
        float[] out = CpuTensors.floatOutput(y);
        IntStream.range(0, rs.length).parallel().forEach(r -> {
            int o = r * c;
            double ss = 0;
            for (int i = 0; i < c; i++) {
                ss += (double) xv[o + i] * xv[o + i];
            }
            float s = (float) (1.0 / Math.sqrt(ss / c + eps));
            rs[r] = s;
            for (int i = 0; i < c; i++) {
                out[o + i] = wv[i] * (xv[o + i] * s);
            }
        });
        CpuTensors.commit(rstd, rs);
        CpuTensors.commit(y, out);
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, boolean accumulate,
                                Tensor dw) {
        int c = x.dim(-1);
        float[] dyv = CpuTensors.read(dy);
        float[] xv = CpuTensors.read(x);
        float[] wv = CpuTensors.read(w);
        float[] rs = CpuTensors.read(rstd);
        float[] out = accumulate ? CpuTensors.accumulator(dx) : CpuTensors.output(dx);
        IntStream.range(0, rs.length).parallel().forEach(r -> {
            int o = r * c;
            float s = rs[r];
            double dot = 0; // sum(dxhat * xhat)
            for (int i = 0; i < c; i++) {
                dot += (double) dyv[o + i] * wv[i] * (xv[o + i] * s);
            }
            float mean = (float) (dot / c);
            for (int i = 0; i < c; i++) {
                float xhat = xv[o + i] * s;
                float g = s * (dyv[o + i] * wv[i] - xhat * mean);
                out[o + i] = accumulate ? out[o + i] + g : g;
            }
        });
        CpuTensors.commit(dx, out);
        if (dw != null) {
            weightGrad(dyv, xv, null, rs, c, dw);
        }
    }

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd) {
        int c = x.dim(-1);
        float[] xv = CpuTensors.read(x);
        float[] wv = CpuTensors.read(w);
        float[] bv = b == null ? null : CpuTensors.read(b);
        float[] mu = CpuTensors.output(mean);
        float[] rs = CpuTensors.output(rstd);
        float[] out = CpuTensors.output(y);
        IntStream.range(0, rs.length).parallel().forEach(r -> {
            int o = r * c;
            double s = 0;
            for (int i = 0; i < c; i++) {
                s += xv[o + i];
            }
            double m = s / c;
            double var = 0;
            for (int i = 0; i < c; i++) {
                double d = xv[o + i] - m;
                var += d * d;
            }
            float inv = (float) (1.0 / Math.sqrt(var / c + eps));
            mu[r] = (float) m;
            rs[r] = inv;
            for (int i = 0; i < c; i++) {
                float normed = (xv[o + i] - (float) m) * inv * wv[i];
                out[o + i] = bv == null ? normed : normed + bv[i];
            }
        });
        CpuTensors.commit(mean, mu);
        CpuTensors.commit(rstd, rs);
        CpuTensors.commit(y, out);
    }

    @Override
    public void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx,
                                  boolean accumulate, Tensor dw, Tensor db) {
        int c = x.dim(-1);
        float[] dyv = CpuTensors.read(dy);
        float[] xv = CpuTensors.read(x);
        float[] wv = CpuTensors.read(w);
        float[] mu = CpuTensors.read(mean);
        float[] rs = CpuTensors.read(rstd);
        float[] out = accumulate ? CpuTensors.accumulator(dx) : CpuTensors.output(dx);
        IntStream.range(0, rs.length).parallel().forEach(r -> {
            int o = r * c;
            double sumG = 0;
            double sumGx = 0;
            for (int i = 0; i < c; i++) {
                float xhat = (xv[o + i] - mu[r]) * rs[r];
                float g = dyv[o + i] * wv[i];
                sumG += g;
                sumGx += g * xhat;
            }
            float mg = (float) (sumG / c);
            float mgx = (float) (sumGx / c);
            for (int i = 0; i < c; i++) {
                float xhat = (xv[o + i] - mu[r]) * rs[r];
                float g = rs[r] * (dyv[o + i] * wv[i] - mg - xhat * mgx);
                out[o + i] = accumulate ? out[o + i] + g : g;
            }
        });
        CpuTensors.commit(dx, out);
        if (dw != null) {
            weightGrad(dyv, xv, mu, rs, c, dw);
        }
        if (db != null) {
            float[] g = zeroed(db);
            for (int o = 0; o < dyv.length; o += c) {
                for (int i = 0; i < c; i++) {
                    g[i] += dyv[o + i];
                }
            }
            CpuTensors.commit(db, g);
        }
    }

    /**
     * {@code dw = sum over rows of dy * xhat} with {@code xhat = (x - mean) * rstd}, or {@code x * rstd} when
     * {@code mean} is null (RMSNorm); summed in row order.
     */
    private static void weightGrad(float[] dy, float[] x, float[] mean, float[] rstd, int c, Tensor dw) {
        float[] g = zeroed(dw);
        for (int r = 0; r < rstd.length; r++) {
            int o = r * c;
            float s = rstd[r];
            if (mean == null) {
                for (int i = 0; i < c; i++) {
                    g[i] += dy[o + i] * (x[o + i] * s);
                }
            } else {
                float m = mean[r];
                for (int i = 0; i < c; i++) {
                    g[i] += dy[o + i] * ((x[o + i] - m) * s);
                }
            }
        }
        CpuTensors.commit(dw, g);
    }

    /** The output array of {@code out}, cleared (an accumulation starts from 0 whatever the caller allocated). */
    private static float[] zeroed(Tensor out) {
        float[] g = CpuTensors.output(out);
        Arrays.fill(g, 0f);
        return g;
    }
}
