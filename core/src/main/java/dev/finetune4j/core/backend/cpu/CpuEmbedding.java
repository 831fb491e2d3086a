package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Row gather and scatter-add on the CPU. */
final class CpuEmbedding implements EmbeddingKernels {

    @Override
    public void gather(Tensor weight, Tensor ids, Tensor out) {
        int c = weight.dim(1);
        long[] rows = ids(ids, weight.dim(0));
        if (out.dim(0) != rows.length || out.dim(1) != c) {
            throw new IllegalArgumentException("gather of " + rows.length + " rows of " + weight.shape() + " into " + out.shape());
        }
        float[] o = CpuTensors.output(out);
        for (int n = 0; n < rows.length; n++) {
            CpuTensors.rowInto(weight, rows[n], o, n * c); // only the rows asked for: a table may be large and bf16
        }
        CpuTensors.commit(out, o);
    }

    @Override
    public void scatterAdd(Tensor dOut, Tensor ids, Tensor dWeight) {
        int c = dWeight.dim(1);
        long[] rows = ids(ids, dWeight.dim(0));
        float[] d = CpuTensors.read(dOut);
        float[] g = CpuTensors.copy(dWeight); // accumulated: starts from dWeight's values
        for (int n = 0; n < rows.length; n++) {
            int src = n * c;
            int dst = Math.toIntExact(rows[n] * c);
            for (int i = 0; i < c; i++) {
                g[dst + i] += d[src + i];
            }
        }
        CpuTensors.commit(dWeight, g);
    }

    /** The ids of a contiguous I64 tensor, each checked against the table's {@code vocab} rows. */
    private static long[] ids(Tensor ids, int vocab) {
        if (ids.dtype() != DType.I64 || !ids.isContiguous()) {
            throw new IllegalArgumentException("embedding ids must be a contiguous I64 tensor, got " + ids);
        }
        MemorySegment s = CpuTensors.segment(ids);
        long[] out = new long[Math.toIntExact(ids.numel())];
        MemorySegment.copy(s, ValueLayout.JAVA_LONG_UNALIGNED, ids.offset() * Long.BYTES, out, 0, out.length);
        for (long id : out) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("embedding id " + id + " is outside the table's [0, " + vocab + ") rows");
            }
        }
        return out;
    }
}
