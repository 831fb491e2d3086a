package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/** RMSNorm and LayerNorm over the last dimension, statistics in double as PyTorch's float32 kernels. */
public final class Norms {
    private Norms() {
    }

    /**
     * RMSNorm (Zhang and Sennrich 2019) as Hugging Face's LlamaRMSNorm: y = x / sqrt(mean(x^2) + eps) * w.
     * x: (..., C), w: (C) -> (..., C).
     */
    public static Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        int c = x.dim(-1);
        int rows = x.shape().rows();
        float[] xv = Buffers.read(x);
        float[] wv = Buffers.read(w);
        float[] rstd = new float[rows];
        float[] y = new float[xv.length];
        IntStream.range(0, rows).parallel().forEach(r -> {
            int o = r * c;
            double ss = 0;
            for (int i = 0; i < c; i++) {
                ss += (double) xv[o + i] * xv[o + i];
            }
            float rs = (float) (1.0 / Math.sqrt(ss / c + eps));
            rstd[r] = rs;
            for (int i = 0; i < c; i++) {
                y[o + i] = wv[i] * (xv[o + i] * rs);
            }
        });
        Tensor out = Buffers.tensor(y, x.shape());
        return Autograd.record("rmsNorm", out, dOut -> {
            float[] dy = Buffers.read(dOut);
            float[] dx = new float[xv.length];
            boolean needDw = w.requiresGrad(); // frozen in adapter training: skip a (rows, C) pass
            float[][] dwRows = new float[rows][];
            IntStream.range(0, rows).parallel().forEach(r -> {
                int o = r * c;
                float rs = rstd[r];
                double dot = 0; // sum(dxhat * xhat)
                for (int i = 0; i < c; i++) {
                    dot += (double) dy[o + i] * wv[i] * (xv[o + i] * rs);
                }
                if (needDw) {
                    float[] dwr = new float[c];
                    for (int i = 0; i < c; i++) {
                        dwr[i] = dy[o + i] * (xv[o + i] * rs);
                    }
                    dwRows[r] = dwr;
                }
                float mean = (float) (dot / c);
                for (int i = 0; i < c; i++) {
                    float xhat = xv[o + i] * rs;
                    dx[o + i] = rs * (dy[o + i] * wv[i] - xhat * mean);
                }
            });
            return new Tensor[]{Buffers.tensor(dx, x.shape()), needDw ? Buffers.tensor(sumRows(dwRows, c), w.shape()) : null};
        }, x, w);
    }

    /**
     * LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b with the biased variance.
     * x: (..., C), w, b: (C) -> (..., C).
     */
    public static Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        int c = x.dim(-1);
        int rows = x.shape().rows();
        float[] xv = Buffers.read(x);
        float[] wv = Buffers.read(w);
        float[] bv = Buffers.read(b);
        float[] mean = new float[rows];
        float[] rstd = new float[rows];
        float[] y = new float[xv.length];
        IntStream.range(0, rows).parallel().forEach(r -> {
            int o = r * c;
            double s = 0;
            for (int i = 0; i < c; i++) {
                s += xv[o + i];
            }
            double mu = s / c;
            double var = 0;
            for (int i = 0; i < c; i++) {
                double d = xv[o + i] - mu;
                var += d * d;
            }
            float rs = (float) (1.0 / Math.sqrt(var / c + eps));
            mean[r] = (float) mu;
            rstd[r] = rs;
            for (int i = 0; i < c; i++) {
                y[o + i] = (xv[o + i] - (float) mu) * rs * wv[i] + bv[i];
            }
        });
        Tensor out = Buffers.tensor(y, x.shape());
        return Autograd.record("layerNorm", out, dOut -> {
            float[] dy = Buffers.read(dOut);
            float[] dx = new float[xv.length];
            float[][] dwRows = new float[rows][];
            float[][] dbRows = new float[rows][];
            IntStream.range(0, rows).parallel().forEach(r -> {
                int o = r * c;
                float[] dwr = new float[c];
                float[] dbr = new float[c];
                double sumG = 0;
                double sumGx = 0;
                for (int i = 0; i < c; i++) {
                    float xhat = (xv[o + i] - mean[r]) * rstd[r];
                    float g = dy[o + i] * wv[i];
                    dwr[i] = dy[o + i] * xhat;
                    dbr[i] = dy[o + i];
                    sumG += g;
                    sumGx += g * xhat;
                }
                float mg = (float) (sumG / c);
                float mgx = (float) (sumGx / c);
                for (int i = 0; i < c; i++) {
                    float xhat = (xv[o + i] - mean[r]) * rstd[r];
                    dx[o + i] = rstd[r] * (dy[o + i] * wv[i] - mg - xhat * mgx);
                }
                dwRows[r] = dwr;
                dbRows[r] = dbr;
            });
            return new Tensor[]{Buffers.tensor(dx, x.shape()), Buffers.tensor(sumRows(dwRows, c), w.shape()),
                    Buffers.tensor(sumRows(dbRows, c), b.shape())};
        }, x, w, b);
    }

    private static float[] sumRows(float[][] rows, int c) {
        float[] out = new float[c];
        for (float[] r : rows) {
            for (int i = 0; i < c; i++) {
                out[i] += r[i];
            }
        }
        return out;
    }
}
