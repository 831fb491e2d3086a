package dev.finetune4j.gguf;

import java.util.Locale;

/**
 * How an exported GGUF stores its weight matrices ({@code general.file_type}). Whatever the choice, 1-D tensors
 * (biases, rotary factors), norm weights, the recurrent layers' convolution kernels ({@code ssm_conv1d}) and Mamba-2's
 * {@code ssm_a} and {@code ssm_d} stay float32, as
 * llama.cpp's converter keeps them and as its kernels expect. With {@link #Q8_0}, a matrix whose rows are not a
 * multiple of 32 values is stored as float16, as the converter falls back for such rows. The K-quant types
 * ({@link #Q3_K_S} to {@link #Q6_K}) and the I-quants {@link #IQ3_S}, {@link #IQ4_NL} and {@link #IQ4_XS} are the
 * files llama.cpp's {@code llama-quantize} makes from a float32 GGUF, with or without an importance matrix, byte for
 * byte: the same type for each matrix ({@link KQuantMix}) and the same blocks. llama.cpp's other I-quants (IQ3_XXS,
 * IQ3_XS, IQ3_M, IQ2, IQ1) are not offered.
 */
public enum GgufType {
    /** Every tensor float32: the exact weights, twice the size of F16. */
    F32(0, GgmlType.F32),
    /** Matrices in IEEE float16, rounded to nearest-even. */
    F16(1, GgmlType.F16),
    /** Matrices in bfloat16, rounded to nearest-even: the range of float32 with 8 bits of mantissa. */
    BF16(32, GgmlType.BF16),
    /**
     * Matrices in ggml's Q8_0: blocks of 32 values as one float16 scale (the block's largest magnitude / 127) and 32
     * signed bytes; about half the size of F16, with an error of at most half a step of each block's scale.
     */
    Q8_0(7, GgmlType.Q8_0),
    /**
     * llama.cpp's Q3_K_S: Q3_K (3.4 bits per weight) for every matrix but the output head (Q6_K); about 22% of F16,
     * for when memory decides. Much better with an {@link ImportanceMatrix}.
     */
    Q3_K_S(11, GgmlType.Q3_K),
    /**
     * llama.cpp's Q3_K_M: Q3_K, with Q4_K for the attention outputs, the down projections (Q5_K in the first
     * sixteenth of the layers) and the value projections (Q5_K in the first two layers); about 25% of F16.
     */
    Q3_K_M(12, GgmlType.Q3_K),
    /** llama.cpp's Q3_K_L: Q3_K, with Q5_K for the value, attention output and down projections; about 27% of F16. */
    Q3_K_L(13, GgmlType.Q3_K),
    /**
     * llama.cpp's Q4_K_M, the usual choice for Ollama and LM Studio: Q4_K (4.5 bits per weight) for most matrices,
     * Q6_K for the output head and for the value and down projections of about half the layers; about 30% of F16.
     */
    Q4_K_M(15, GgmlType.Q4_K),
    /** llama.cpp's Q5_K_M: Q4_K_M's mix with Q5_K (5.5 bits per weight) as its base type; about 36% of F16. */
    Q5_K_M(17, GgmlType.Q5_K),
    /** llama.cpp's Q6_K: Q6_K (6.56 bits per weight) for every matrix; about 41% of F16, close to Q8_0's quality. */
    Q6_K(18, GgmlType.Q6_K),
    /**
     * llama.cpp's IQ3_S: groups of 4 weights as a point of a 512-point grid of magnitudes with a sign each, a 4-bit
     * scale per 32 and a float16 per 256 (3.44 bits per weight), Q6_K for the output head and, with grouped-query
     * attention of 4 or more query heads per key head, Q4_K for the value projections; about 22% of F16, for when
     * memory decides. Much better with an {@link ImportanceMatrix}.
     */
    IQ3_S(26, GgmlType.IQ3_S),
    /**
     * llama.cpp's IQ4_NL: blocks of 32 weights as 4-bit indices into a 16-level non-linear table (denser near zero) and
     * a float16 scale (4.5 bits per weight), Q6_K for the output head; with grouped-query attention of 4 or more query
     * heads per key head, Q5_K for the value projections; without an importance matrix, Q5_K for the down projections
     * of the first eighth of the layers. About 30% of F16, as Q4_K_M.
     */
    IQ4_NL(25, GgmlType.IQ4_NL),
    /**
     * llama.cpp's IQ4_XS: IQ4_NL's indices with a 6-bit scale per 32 weights and a float16 per 256 (4.25 bits per
     * weight), the same mix as {@link #IQ4_NL} (rows that are not whole 256-value super-blocks fall back to IQ4_NL);
     * about 28% of F16, smaller than Q4_K_M at about its quality, and better still with an {@link ImportanceMatrix}.
     */
    IQ4_XS(30, GgmlType.IQ4_XS);

    private final int fileType;
    private final GgmlType matrixType;

    GgufType(int fileType, GgmlType matrixType) {
        this.fileType = fileType;
        this.matrixType = matrixType;
    }

    /** llama.cpp's {@code llama_ftype} value, written as {@code general.file_type}. */
    int fileType() {
        return fileType;
    }

    /** The storage of most matrices. */
    GgmlType matrixType() {
        return matrixType;
    }

    /**
     * Whether this is one of llama-quantize's mixes (Q3_K_S to Q6_K, IQ3_S, IQ4_NL, IQ4_XS): a type chosen per matrix
     * as llama-quantize chooses, and blocks shaped by an {@link ImportanceMatrix} when one is given.
     *
     * @return whether this is a K-quant or I-quant mix
     */
    public boolean isMix() {
        return switch (this) {
            case F32, F16, BF16, Q8_0 -> false;
            default -> true;
        };
    }

    /** Whether matrices are stored in a block-quantized type (written with {@code general.quantization_version}). */
    boolean isQuantized() {
        return matrixType.blockSize() > 1;
    }

    /**
     * The storage of tensor {@code name} of ggml dimensions {@code dims} in a file of this type, for a model of
     * {@code layout}: 1-D tensors, norm weights, learned positions, BERT's token-type table, the recurrent layers' small convolution kernels
     * ({@code ssm_conv1d}, LFM2's {@code shortconv.conv}), a mixture of experts' routers
     * ({@code ffn_gate_inp}, {@code ffn_gate_inp_shexp}, whose scores pick the experts) and anything not named
     * {@code *.weight} (or a LoRA {@code *.lora_a}/{@code *.lora_b}) stay float32, as the converter and llama-quantize
     * keep them; a K-quant or I-quant mix chooses per matrix ({@link KQuantMix}); otherwise a matrix (a stack of
     * experts' matrices too) takes this type, a Q8_0 one whose rows are not whole blocks float16.
     */
    GgmlType storageOf(String name, long[] dims, ModelLayout layout) {
        boolean matrix = dims.length >= 2 && !name.endsWith("_norm.weight") && !name.equals("position_embd.weight")
                && !name.equals("token_types.weight")
                && !name.endsWith(".ssm_conv1d.weight") && !name.endsWith(".shortconv.conv.weight")
                && !name.endsWith(".ffn_gate_inp.weight") && !name.endsWith(".ffn_gate_inp_shexp.weight")
                && (name.endsWith(".weight") || name.endsWith(".lora_a") || name.endsWith(".lora_b"));
        if (!matrix) {
            return GgmlType.F32;
        }
        if (isMix()) {
            return KQuantMix.choose(this, name, dims, layout);
        }
        return dims[0] % matrixType.blockSize() == 0 ? matrixType : GgmlType.F16;
    }

    /**
     * The type named as the CLI and llama.cpp's tools name it ({@code f32}, {@code f16}, {@code bf16}, {@code q8_0},
     * {@code q3_k_s}, {@code q3_k_m}, {@code q3_k_l}, {@code q4_k_m}, {@code q5_k_m}, {@code q6_k}, {@code iq3_s},
     * {@code iq4_nl}, {@code iq4_xs}), in any case.
     *
     * @param name the name
     * @return the type
     * @throws IllegalArgumentException naming the accepted names
     */
    public static GgufType named(String name) {
        for (GgufType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        String hint = name.toLowerCase(Locale.ROOT).matches("iq.*|q2_k.*")
                ? " (llama.cpp's other I-quants (iq3_xxs, iq3_xs, iq3_m, iq2_*, iq1_*) and Q2_K are not offered: most "
                + "need an importance matrix; save one with ImportanceMatrix.save and run llama-quantize on an f32 "
                + "export)"
                : "";
        throw new IllegalArgumentException("unknown GGUF type '" + name + "'" + hint + "; choose f32, f16, bf16, q8_0, "
                + "q3_k_s, q3_k_m, q3_k_l, q4_k_m, q5_k_m, q6_k, iq3_s, iq4_nl or iq4_xs");
    }
}
