package dev.finetune4j.gguf;

/**
 * How an exported GGUF stores its weight matrices ({@code general.file_type}). Whatever the choice, 1-D tensors
 * (biases, rotary factors) and norm weights stay float32, as llama.cpp's converter keeps them and as its kernels
 * expect; with {@link #Q8_0}, a matrix whose rows are not a multiple of 32 values is stored as float16, as the
 * converter falls back for such rows.
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
    Q8_0(7, GgmlType.Q8_0);

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

    /**
     * The storage of tensor {@code name} of ggml dimensions {@code dims} in a file of this type, by llama.cpp's
     * converter's rules: 1-D tensors, norm weights, learned positions and anything not named {@code *.weight} (or a
     * LoRA {@code *.lora_a}/{@code *.lora_b}) stay float32; a Q8_0 matrix whose rows are not whole blocks falls back to
     * float16.
     */
    GgmlType storageOf(String name, long[] dims) {
        boolean matrix = dims.length >= 2 && !name.endsWith("_norm.weight") && !name.equals("position_embd.weight")
                && (name.endsWith(".weight") || name.endsWith(".lora_a") || name.endsWith(".lora_b"));
        if (!matrix) {
            return GgmlType.F32;
        }
        return dims[0] % matrixType.blockSize() == 0 ? matrixType : GgmlType.F16;
    }

    /**
     * The type named as the CLI and llama.cpp's tools name it ({@code f32}, {@code f16}, {@code bf16},
     * {@code q8_0}), in any case.
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
        throw new IllegalArgumentException("unknown GGUF type '" + name + "'; choose f32, f16, bf16 or q8_0");
    }
}
