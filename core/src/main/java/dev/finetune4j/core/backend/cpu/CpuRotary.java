package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/** Rotary embedding on the CPU, one task per (batch, head). */
final class CpuRotary implements RotaryKernels {

    @Override
    public void rotate(Tensor x, Tensor cos, Tensor sin, RotaryLayout layout, boolean inverse, Tensor y) {
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
        // pair i is (first + i * step, first + i * step + partner)
        int step = layout == RotaryLayout.INTERLEAVED ? 2 : 1;
        int partner = layout == RotaryLayout.INTERLEAVED ? 1 : half;
        IntStream.range(0, x.dim(0) * h).parallel().forEach(bh -> {
            int b = bh / h;
            for (int p = 0; p < t; p++) {
                int at = (bh * t + p) * d;
                int c = (b * t + p) * half;
                for (int i = 0; i < half; i++) {
                    int first = at + i * step;
                    float x1 = xv[first];
                    float x2 = xv[first + partner];
                    float cosine = cs[c + i];
                    float sine = sign * sn[c + i];
                    o[first] = x1 * cosine - x2 * sine;
                    o[first + partner] = x2 * cosine + x1 * sine;
                }
                System.arraycopy(xv, at + rotated, o, at + rotated, d - rotated);
            }
        });
        CpuTensors.commitView(y, o);
    }
}
