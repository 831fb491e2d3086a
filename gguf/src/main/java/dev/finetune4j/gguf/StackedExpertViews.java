package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

import java.util.function.UnaryOperator;

/**
 * Views of stacked expert parameters as llama.cpp holds them. gpt-oss's (convert_hf_to_gguf.py's {@code GptOssModel}):
 * {@code gate_up_proj} (E, C, 2I), multiplied from the right and its gate and up projections interleaved column by
 * column, becomes {@code ffn_gate_exps} and {@code ffn_up_exps}, each expert's (I, C) matrix being its even or odd
 * columns transposed; {@code down_proj} (E, I, C) becomes {@code ffn_down_exps}, each expert's matrix transposed to
 * (C, I); {@code gate_up_proj_bias} (E, 2I) splits into the two (E, I) biases by the same columns. Mistral 4's, held
 * as linear layers' weights: {@code gate_up_proj} (E, 2I, C) gives each expert's first I rows to {@code ffn_gate_exps}
 * and its last I to {@code ffn_up_exps}, {@code down_proj} (E, C, I) each expert's matrix as it is. The views share
 * the weight's storage: nothing is copied until a row is written.
 */
final class StackedExpertViews {
    /** The gate's columns of {@code gate_up_proj} and its bias: the even ones ({@code [..., ::2]}). */
    static final int GATE = 0;
    /** The up projection's columns: the odd ones ({@code [..., 1::2]}). */
    static final int UP = 1;

    private StackedExpertViews() {
    }

    /**
     * Expert {@code expert}'s gate ({@link #GATE}) or up ({@link #UP}) projection of {@code gate_up_proj} (E, C, 2I),
     * (I, C): row j is column {@code 2 j + part} of the expert's matrix.
     */
    static UnaryOperator<Tensor> interleavedProjection(int expert, int part) {
        return w -> {
            long[] s = w.strides();
            return w.view(Shape.of(w.dim(2) / 2, w.dim(1)), new long[] {2 * s[2], s[1]},
                    w.offset() + expert * s[0] + part * s[2]);
        };
    }

    /** Expert {@code expert}'s matrix of {@code down_proj} (E, I, C), transposed: (C, I). */
    static UnaryOperator<Tensor> transposedExpert(int expert) {
        return w -> {
            long[] s = w.strides();
            return w.view(Shape.of(w.dim(2), w.dim(1)), new long[] {s[2], s[1]}, w.offset() + expert * s[0]);
        };
    }

    /**
     * Expert {@code expert}'s gate ({@link #GATE}) or up ({@link #UP}) projection of Mistral 4's {@code gate_up_proj}
     * (E, 2I, C), (I, C): its first or last I rows.
     */
    static UnaryOperator<Tensor> weightHalf(int expert, int part) {
        return w -> {
            long[] s = w.strides();
            int width = w.dim(1) / 2;
            return w.view(Shape.of(width, w.dim(2)), new long[] {s[1], s[2]},
                    w.offset() + expert * s[0] + (long) part * width * s[1]);
        };
    }

    /** Expert {@code expert}'s matrix of a stack of weights (E, out, in), as it is: (out, in). */
    static UnaryOperator<Tensor> expertWeight(int expert) {
        return w -> {
            long[] s = w.strides();
            return w.view(Shape.of(w.dim(1), w.dim(2)), new long[] {s[1], s[2]}, w.offset() + expert * s[0]);
        };
    }

    /** The gate's ({@link #GATE}) or up projection's ({@link #UP}) biases of {@code gate_up_proj_bias} (E, 2I): (E, I). */
    static UnaryOperator<Tensor> interleavedBias(int part) {
        return b -> {
            long[] s = b.strides();
            return b.view(Shape.of(b.dim(0), b.dim(1) / 2), new long[] {s[0], 2 * s[1]}, b.offset() + part * s[1]);
        };
    }
}
