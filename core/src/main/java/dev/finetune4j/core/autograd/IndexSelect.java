package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Rows of a matrix picked by index: an embedding lookup, and a mixture of experts sending tokens to their experts and
 * gathering the experts' results back. The backward adds each picked row's gradient into the row it came from (a row
 * picked twice receives both).
 */
public final class IndexSelect {
    private IndexSelect() {
    }

    /**
     * x: (V, C), ids: (N) -> (N, C) with {@code out[n] = x[ids[n]]}. Under {@link Precision#BF16_MIXED} the rows are kept
     * in bf16, the values of picking from a bf16 copy of {@code x}.
     *
     * @param x the matrix to pick from, any float dtype
     * @param ids contiguous I64 row indices on {@code x}'s device, each in {@code [0, V)} (checked by the backend)
     * @return the picked rows, (N, C)
     */
    public static Tensor rows(Tensor x, Tensor ids) {
        return rows(x, ids, -1);
    }

    /**
     * {@link #rows(Tensor, Tensor)} whose backward leaves row {@code frozenRow} of {@code x}'s gradient at zero
     * (torch's {@code nn.Embedding(padding_idx=...)}: a padding id among the picked ones does not train its row).
     *
     * @param x the matrix to pick from, (V, C)
     * @param ids row indices, (N) I64 on x's device
     * @param frozenRow the row that takes no gradient, or -1 for none
     * @return the picked rows, (N, C)
     */
    public static Tensor rows(Tensor x, Tensor ids, long frozenRow) {
        Ops.sameDevice(x, ids);
        Tensor picked = Tensor.empty(x.device(), Shape.of(ids.dim(0), x.dim(1)));
        x.backend().embedding().gather(x.detach(), ids, picked);
        return Autograd.record("indexSelect", Bf16Boundaries.output(picked), dOut -> {
            Tensor dX = Tensor.zeros(dOut.device(), x.shape());
            dOut.backend().embedding().scatterAdd(Ops.matrix(dOut), ids, dX);
            if (frozenRow >= 0) {
                Tensor row = dX.slice(0, Math.toIntExact(frozenRow), Math.toIntExact(frozenRow) + 1);
                row.backend().copy().fill(row, 0f);
            }
            return new Tensor[]{dX};
        }, x);
    }

    /**
     * {@link #rows(Tensor, Tensor)} with indices from the host.
     *
     * @param x the matrix to pick from, (V, C)
     * @param ids row indices, each in {@code [0, V)}
     * @return the picked rows, (ids.length, C)
     */
    public static Tensor rows(Tensor x, long[] ids) {
        return rows(x, Tensor.ofLongs(x.device(), ids, Shape.of(ids.length)));
    }
}
