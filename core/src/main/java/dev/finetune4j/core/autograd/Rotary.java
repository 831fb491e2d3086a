package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Rotary position embedding (Su et al. 2021): the pairs (x1_i, x2_i) of a head vector's {@link RotaryLayout} (its
 * first and second halves in Hugging Face's "rotate half", adjacent dimensions when interleaved) are rotated by angle
 * pos * invFreq_i: out1 = x1 cos - x2 sin, out2 = x2 cos + x1 sin, with cos and sin scaled by
 * {@code attentionScaling} (1 except for YaRN).
 */
public final class Rotary {
    private Rotary() {
    }

    /**
     * A factor on cos and sin that depends on the position alone, folded into a {@link Table}: rotating by such a
     * table scales each rotated vector by it, and the backward scales its gradient by the same constant (Llama 4's
     * query temperature, as Ministral 3 applies it after the rotation).
     */
    @FunctionalInterface
    public interface PositionFactor {
        /** No factor: 1 at every position. */
        PositionFactor NONE = position -> 1f;

        /**
         * The factor at one position.
         *
         * @param position a token's position
         * @return its factor
         */
        float at(int position);
    }

    /**
     * The cos and sin tables of {@link #apply(Tensor, Table)} for the given positions, on one device and owned by
     * the scope that was current when they were made (they must not be used after it closed).
     *
     * @param positions the [B][T] positions the tables were made for
     * @param cos       (B, T, D/2), already scaled
     * @param sin       (B, T, D/2), already scaled
     */
    public record Table(int[][] positions, Tensor cos, Tensor sin) {

        /**
         * Angles pos * invFreq_i in float32 like PyTorch, then cos and sin scaled by {@code attentionScaling},
         * computed on the host and uploaded to {@code device} in the current scope, both tables in one transfer.
         *
         * @param device where the table is used
         * @param positions [B][T] position of each token
         * @param invFreq the D/2 inverse frequencies
         * @param attentionScaling multiplier of cos and sin
         * @return the table
         */
        public static Table of(Device device, int[][] positions, float[] invFreq, float attentionScaling) {
            return of(device, TensorScope.current(), positions, invFreq, attentionScaling);
        }

        /**
         * {@link #of(Device, int[][], float[], float)} with the tables owned by {@code scope}.
         *
         * @param device where the table is used
         * @param scope owns the tables
         * @param positions [B][T] position of each token
         * @param invFreq the D/2 inverse frequencies
         * @param attentionScaling multiplier of cos and sin
         * @return the table
         */
        public static Table of(Device device, TensorScope scope, int[][] positions, float[] invFreq,
                               float attentionScaling) {
            float[][] rowFrequencies = new float[positions.length][];
            Arrays.fill(rowFrequencies, invFreq);
            return of(device, scope, positions, rowFrequencies, attentionScaling);
        }

        /**
         * {@link #of(Device, TensorScope, int[][], float[], float)} with each row's own inverse frequencies (rows of
         * one serving batch on either side of longrope's switch).
         *
         * @param device where the table is used
         * @param scope owns the tables
         * @param positions [B][T] position of each token
         * @param rowFrequencies [B] each row's D/2 inverse frequencies, of one length
         * @param attentionScaling multiplier of cos and sin
         * @return the table
         */
        public static Table of(Device device, TensorScope scope, int[][] positions, float[][] rowFrequencies,
                               float attentionScaling) {
            return of(device, scope, positions, rowFrequencies, attentionScaling, PositionFactor.NONE);
        }

        /**
         * {@link #of(Device, TensorScope, int[][], float[][], float)} with cos and sin also multiplied by a factor of
         * each token's position.
         *
         * @param device where the table is used
         * @param scope owns the tables
         * @param positions [B][T] position of each token
         * @param rowFrequencies [B] each row's D/2 inverse frequencies, of one length
         * @param attentionScaling multiplier of cos and sin
         * @param positionFactor multiplier of cos and sin at each position, after {@code attentionScaling}
         * @return the table
         */
        public static Table of(Device device, TensorScope scope, int[][] positions, float[][] rowFrequencies,
                               float attentionScaling, PositionFactor positionFactor) {
            int bs = positions.length;
            int t = bs == 0 ? 0 : positions[0].length;
            int half = bs == 0 ? 0 : rowFrequencies[0].length;
            Shape shape = Shape.of(bs, t, half);
            // cos in the first half, sin in the second: one upload per table (issue 17: no hidden host work)
            int n = Math.toIntExact(shape.numel());
            float[] cosSin = new float[Math.multiplyExact(2, n)];
            for (int b = 0; b < bs; b++) {
                if (positions[b].length != t) {
                    throw new IllegalArgumentException("rotary positions: row 0 has " + t + ", row " + b + " has "
                            + positions[b].length + "; every row needs one position per token");
                }
                float[] invFreq = rowFrequencies[b];
                for (int p = 0; p < t; p++) {
                    float factor = positionFactor.at(positions[b][p]);
                    for (int i = 0; i < half; i++) {
                        float angle = positions[b][p] * invFreq[i];
                        cosSin[(b * t + p) * half + i] = (float) Math.cos(angle) * attentionScaling * factor;
                        cosSin[n + (b * t + p) * half + i] = (float) Math.sin(angle) * attentionScaling * factor;
                    }
                }
            }
            Tensor both = Tensor.of(device, scope, cosSin, Shape.of(2, bs, t, half));
            return new Table(positions, both.slice(0, 0, 1).reshape(bs, t, half),
                    both.slice(0, 1, 2).reshape(bs, t, half));
        }

        /**
         * True while the tables' memory is live (their scope open, and not released early) and they are on
         * {@code device}: whether this table may still be used there.
         *
         * @param device the device of the tensors to rotate
         * @return whether the table may be used
         */
        public boolean usableOn(Device device) {
            return cos.scope().isOpen() && cos.scope().owns(cos) && cos.device().equals(device);
        }
    }

    /**
     * {@link #apply(Tensor, Table)} with a table made for this call.
     *
     * @param x the queries or keys, (B, H, T, D)
     * @param positions [B][T] position of each token
     * @param invFreq the D/2 inverse frequencies
     * @param attentionScaling multiplier of cos and sin
     * @return the rotated tensor, (B, H, T, D)
     */
    public static Tensor apply(Tensor x, int[][] positions, float[] invFreq, float attentionScaling) {
        return apply(x, Table.of(x.device(), positions, invFreq, attentionScaling));
    }

    /**
     * x: (B, H, T, D), table for B x T positions and R/2 frequencies -> (B, H, T, D): the first R dimensions rotated
     * (R = D, or less for a partial rotary embedding), the rest passed through. Backward applies the inverse
     * rotation: dx1 = d1 cos + d2 sin, dx2 = d2 cos - d1 sin.
     *
     * @param x the queries or keys, (B, H, T, D)
     * @param table the cos/sin table of the same positions
     * @return the rotated tensor, (B, H, T, D)
     */
    public static Tensor apply(Tensor x, Table table) {
        return apply(x, table, RotaryLayout.HALVES);
    }

    /**
     * {@link #apply(Tensor, Table)} with the pairs of {@code layout}.
     *
     * @param x the queries or keys, (B, H, T, D)
     * @param table the cos/sin table of the same positions
     * @param layout which dimensions pair up
     * @return the rotated tensor, (B, H, T, D)
     */
    public static Tensor apply(Tensor x, Table table, RotaryLayout layout) {
        Shape tableShape = table.cos().shape();
        if (x.rank() != 4 || tableShape.rank() != 3 || tableShape.dim(0) != x.dim(0) || tableShape.dim(1) != x.dim(2)
                || tableShape.dim(2) < 1 || 2L * tableShape.dim(2) > x.dim(3)) {
            throw new IllegalArgumentException("rotary: a table of shape " + tableShape + " does not fit "
                    + x.shape() + " (needs (B, H, T, D) and a table of (B, T, R/2) for R <= D rotated dimensions)");
        }
        Ops.sameDevice(x, table.cos(), table.sin());
        // under BF16_MIXED the activation and the gradient of the bf16 q or k are bf16 (Precision)
        DType dtype = Bf16Boundaries.activationDType();
        Tensor out = Tensor.empty(TensorScope.current(), x.device(), dtype, x.shape());
        x.backend().rotary().rotate(x.detach(), table.cos(), table.sin(), layout, false, out);
        return Autograd.record("rotary", out, dOut -> {
            Tensor dx = emptyInMemoryOrderOf(x, dtype);
            dOut.backend().rotary().rotate(dOut.detach(), table.cos(), table.sin(), layout, true, dx);
            return new Tensor[]{dx};
        }, x);
    }

    /**
     * A new tensor shaped like {@code x} whose elements lie in {@code x}'s memory order when {@code x} is a
     * permutation of a dense tensor (the transposed view of a (B, T, H, D) projection), else contiguous: the gradient
     * then goes back through the transpose and the reshape into the projection's backward without a copy.
     */
    private static Tensor emptyInMemoryOrderOf(Tensor x, DType dtype) {
        int rank = x.rank();
        long[] strides = x.strides();
        int[] order = IntStream.range(0, rank).boxed().sorted((a, b) -> Long.compare(strides[b], strides[a]))
                .mapToInt(Integer::intValue).toArray();
        int[] dims = new int[rank];
        long dense = 1;
        boolean permuted = true;
        for (int i = rank - 1; i >= 0; i--) {
            dims[i] = x.dim(order[i]);
            permuted &= dims[i] == 1 || strides[order[i]] == dense;
            dense *= dims[i];
        }
        if (!permuted) {
            return Tensor.empty(TensorScope.current(), x.device(), dtype, x.shape());
        }
        int[] back = new int[rank];
        for (int i = 0; i < rank; i++) {
            back[order[i]] = i;
        }
        return Tensor.empty(TensorScope.current(), x.device(), dtype, Shape.of(dims)).permute(back);
    }
}
