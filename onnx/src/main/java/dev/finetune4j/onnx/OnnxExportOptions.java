package dev.finetune4j.onnx;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How {@link OnnxExporter#export(dev.finetune4j.core.models.LanguageModel, java.nio.file.Path, OnnxExportOptions)}
 * writes the weight matrices of a causal LM's linear layers: float32 (the default), or int8 or int4 codes in blocks
 * of {@code blockSize} values along each matrix's input dimension, one float32 scale per block, symmetric (no zero
 * point). A quantized export is an opset 21 graph that computes {@code MatMul(x, DequantizeLinear(codes, scales))}
 * with standard operators only; embeddings, norms, biases, the routers of mixtures of experts and convolution weights
 * stay float32, and so does a head tied to the embeddings (a separate {@code lm_head} is quantized like the layers).
 *
 * <pre>{@code
 * OnnxExporter.export(model, Path.of("model-onnx-int4"), OnnxExportOptions.int4(32));
 * }</pre>
 *
 * @param weights   the linear layers' weight format
 * @param blockSize the values that share one scale along the input dimension: a power of two of at least
 *                  {@value #MIN_BLOCK_SIZE} ({@value #DEFAULT_BLOCK_SIZE} and 128 are the usual choices); ignored
 *                  for {@link WeightFormat#FLOAT32}
 */
public record OnnxExportOptions(WeightFormat weights, int blockSize) {
    /** The block size of {@link #int8()} and {@link #int4()}, as in GGUF's Q8_0 and Q4_0. */
    public static final int DEFAULT_BLOCK_SIZE = 32;
    /** The smallest block size: ONNX Runtime's MatMulNBits, into which its optimizer turns the blocks, takes no less. */
    public static final int MIN_BLOCK_SIZE = 16;

    /** The format of the linear layers' weight matrices in the export. */
    public enum WeightFormat {
        /** float32, as the other weights: opset 17. */
        FLOAT32,
        /** 8-bit signed codes in [-127, 127], one byte a value. */
        INT8,
        /** 4-bit signed codes in [-7, 7], two values a byte as ONNX packs INT4 (the first in the low nibble). */
        INT4;

        /**
         * The largest code magnitude: a block's largest |value| becomes this code, the scale being that value over it.
         *
         * @return 127 for int8, 7 for int4
         * @throws IllegalStateException for {@link #FLOAT32}, which has no codes
         */
        public int maxCode() {
            return switch (this) {
                case INT8 -> 127;
                case INT4 -> 7;
                case FLOAT32 -> throw new IllegalStateException("float32 weights are not quantized: they have no codes");
            };
        }

        /**
         * The bytes that {@code count} values take in this format (int4's odd last nibble padded to a byte).
         *
         * @param count the number of values
         * @return their bytes in the external data file
         */
        public long bytesFor(long count) {
            return switch (this) {
                case FLOAT32 -> 4 * count;
                case INT8 -> count;
                case INT4 -> (count + 1) / 2;
            };
        }

        /**
         * The format named {@code text}, case-insensitive: {@code float32}, {@code int8} or {@code int4} (the CLI's
         * {@code --weights}).
         *
         * @param text the format's name
         * @return the format
         * @throws IllegalArgumentException naming the accepted names when {@code text} is none of them
         */
        public static WeightFormat parse(String text) {
            try {
                return valueOf(text.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("weight format '" + text + "' is not one of " + names(), e);
            }
        }

        private static String names() {
            return Arrays.stream(values()).map(f -> f.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
        }
    }

    /**
     * Checks the options.
     *
     * @throws IllegalArgumentException when {@code weights} is null, or a quantized format's {@code blockSize} is not a
     *                                  power of two of at least {@value #MIN_BLOCK_SIZE}
     */
    public OnnxExportOptions {
        if (weights == null) {
            throw new IllegalArgumentException("the weight format is null: use OnnxExportOptions.float32(), int8(...) "
                    + "or int4(...)");
        }
        if (weights != WeightFormat.FLOAT32 && (blockSize < MIN_BLOCK_SIZE || Integer.bitCount(blockSize) != 1)) {
            throw new IllegalArgumentException("block size " + blockSize + " for " + weights.name().toLowerCase(Locale.ROOT)
                    + " weights is not a power of two of at least " + MIN_BLOCK_SIZE + " (ONNX Runtime's MatMulNBits, "
                    + "which its optimizer makes of the blocks, takes no other): use " + DEFAULT_BLOCK_SIZE
                    + " (the default) or 128");
        }
    }

    /**
     * Float32 weights throughout, an opset 17 graph: what
     * {@link OnnxExporter#export(dev.finetune4j.core.models.LanguageModel, java.nio.file.Path)} writes.
     *
     * @return the options
     */
    public static OnnxExportOptions float32() {
        return new OnnxExportOptions(WeightFormat.FLOAT32, DEFAULT_BLOCK_SIZE);
    }

    /**
     * Int8 linear weights in blocks of {@value #DEFAULT_BLOCK_SIZE}.
     *
     * @return the options
     */
    public static OnnxExportOptions int8() {
        return int8(DEFAULT_BLOCK_SIZE);
    }

    /**
     * Int8 linear weights in blocks of {@code blockSize}.
     *
     * @param blockSize a power of two of at least {@value #MIN_BLOCK_SIZE}
     * @return the options
     * @throws IllegalArgumentException when the block size is not one
     */
    public static OnnxExportOptions int8(int blockSize) {
        return new OnnxExportOptions(WeightFormat.INT8, blockSize);
    }

    /**
     * Int4 linear weights in blocks of {@value #DEFAULT_BLOCK_SIZE}.
     *
     * @return the options
     */
    public static OnnxExportOptions int4() {
        return int4(DEFAULT_BLOCK_SIZE);
    }

    /**
     * Int4 linear weights in blocks of {@code blockSize}.
     *
     * @param blockSize a power of two of at least {@value #MIN_BLOCK_SIZE}
     * @return the options
     * @throws IllegalArgumentException when the block size is not one
     */
    public static OnnxExportOptions int4(int blockSize) {
        return new OnnxExportOptions(WeightFormat.INT4, blockSize);
    }

    /**
     * Whether the linear layers' weights are quantized (an opset 21 graph).
     *
     * @return true for int8 and int4
     */
    public boolean quantized() {
        return weights != WeightFormat.FLOAT32;
    }
}
