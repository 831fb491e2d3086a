package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.backend.Philox;
import dev.finetune4j.core.tensor.Tensor;

/** Inverted dropout on the CPU: one Philox block per four elements, blocks split across threads. */
final class CpuDropout implements DropoutKernels {

    @Override
    public void apply(Tensor x, float p, DropoutKey key, Tensor out) {
        if (!x.shape().equals(out.shape())) {
            throw new IllegalArgumentException("dropout of " + x.shape() + " into " + out.shape());
        }
        float[] v = CpuTensors.read(x);
        float[] o = CpuTensors.output(out);
        float keep = 1f / (1f - p);
        int blocks = (int) ((o.length + 3L) / 4);
        Parallel.chunks(blocks, (from, to) -> {
            for (int blk = from; blk < to; blk++) {
                int[] bits = Philox.block(key, blk);
                int base = blk * 4;
                for (int j = 0; j < 4 && base + j < o.length; j++) {
                    o[base + j] = Philox.uniform(bits[j]) < p ? 0f : v[base + j] * keep;
                }
            }
        });
        CpuTensors.commit(out, o);
    }
}
