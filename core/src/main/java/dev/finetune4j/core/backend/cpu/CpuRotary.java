package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/** Rotary embedding on the CPU, one task per (batch, head). */
final class CpuRotary implements RotaryKernels {

    @Override
    public void rotate(Tensor x, Tensor cos, Tensor sin, boolean inverse, Tensor y) {
        int h = x.dim(1);
        int t = x.dim(2);
        int d = x.dim(3);
        int half = cos.dim(cos.rank() - 1);
        int rotated = 2 * half;
        float[] xv = CpuTensors.read(x);
        float[] cs = CpuTensors.read(cos);
        float[] sn = CpuTensors.read(sin);
        float[] o = CpuTensors.viewOutput(y);
        float sign = inverse ? -1f : 1f;
        IntStream.range(0, x.dim(0) * h).parallel().forEach(bh -> {
            int b = bh / h;
            for (int p = 0; p < t; p++) {
                int at = (bh * t + p) * d;
                int c = (b * t + p) * half;
                for (int i = 0; i < half; i++) {
                    float x1 = xv[at + i];
                    float x2 = xv[at + half + i];
                    float cosine = cs[c + i];
                    float sine = sign * sn[c + i];
                    o[at + i] = x1 * cosine - x2 * sine;
                    o[at + half + i] = x2 * cosine + x1 * sine;
                }
                System.arraycopy(xv, at + rotated, o, at + rotated, d - rotated);
            }
        });
        CpuTensors.commitView(y, o);
    }
}
