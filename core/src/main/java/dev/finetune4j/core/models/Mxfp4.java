package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.TensorInfo;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * MXFP4 weights as gpt-oss's checkpoints store its experts (OCP Microscaling, FP4 E2M1 elements under one E8M0 scale
 * per 32): a parameter {@code P} of shape (E, K, N) is stored as {@code P_blocks}, U8 (E, N, K / 32, 16), two
 * elements a byte (the low nibble first), and {@code P_scales}, U8 (E, N, K / 32), each a power of two biased by 127.
 * The stored matrix is the parameter's transpose, as transformers' {@code convert_moe_packed_tensors} and the
 * transpose after it read it. Loading dequantizes: the values are exact in bf16.
 */
final class Mxfp4 {
    /** The 16 values of an E2M1 nibble: sign in bit 3, then 0, 0.5, 1, 1.5, 2, 3, 4, 6. */
    private static final float[] FP4 = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, -0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f};
    private static final String BLOCKS = "_blocks";
    private static final String SCALES = "_scales";
    private static final int BLOCK = 32;
    private static final int SCALE_BIAS = 127;

    private Mxfp4() {
    }

    /**
     * Whether {@code ckpt} stores parameter {@code name} packed.
     *
     * @param ckpt the checkpoint
     * @param name the parameter's name ({@code model.layers.0.mlp.experts.gate_up_proj})
     * @return true when both {@code name_blocks} and {@code name_scales} are there
     */
    static boolean holds(SafetensorsCheckpoint ckpt, String name) {
        return ckpt.contains(name + BLOCKS) && ckpt.contains(name + SCALES);
    }

    /**
     * The parameters a stored tensor holds: two per byte of a packed block tensor, else its element count.
     *
     * @param info the tensor's header entry
     * @return the number of values it stands for
     */
    static long parameters(TensorInfo info) {
        boolean packed = info.name().endsWith(BLOCKS) && info.dtype() == DType.U8;
        return packed ? 2 * info.numel() : info.numel();
    }

    /**
     * The bytes the packed parameter occupies in the files, for load progress.
     *
     * @param ckpt the checkpoint holding it
     * @param name the parameter's name
     * @return its blocks' and scales' bytes
     */
    static long storedBytes(SafetensorsCheckpoint ckpt, String name) {
        return ckpt.info(name + BLOCKS).byteSize() + ckpt.info(name + SCALES).byteSize();
    }

    /**
     * Parameter {@code name} dequantized into {@code into}.
     *
     * @param ckpt the checkpoint holding {@code name_blocks} and {@code name_scales}
     * @param name the parameter's name
     * @param shape the parameter's shape the model expects, (E, K, N)
     * @param dtype the dtype to store it in
     * @param into owns the result, on its device
     * @return the parameter
     * @throws IllegalArgumentException when the stored shapes are not the packing of {@code shape}
     */
    static Tensor dequantize(SafetensorsCheckpoint ckpt, String name, Shape shape, DType dtype, TensorScope into) {
        TensorInfo blocks = ckpt.info(name + BLOCKS);
        TensorInfo scales = ckpt.info(name + SCALES);
        requirePacking(name, shape, blocks, scales);
        int experts = shape.dim(0);
        int rows = shape.dim(1);
        int cols = shape.dim(2);
        int groups = rows / BLOCK;
        MemorySegment packed = ckpt.tensor(blocks.name()).hostSegment();
        MemorySegment exponents = ckpt.tensor(scales.name()).hostSegment();
        Tensor out = Tensor.empty(into, into.device(), dtype, shape);
        // one expert at a time: a layer's float32 copy would be gigabytes (gpt-oss-120b: 8.5 GB a tensor)
        float[] values = new float[Math.multiplyExact(rows, cols)];
        for (int e = 0; e < experts; e++) {
            for (int n = 0; n < cols; n++) {
                for (int g = 0; g < groups; g++) {
                    long scaleIndex = ((long) e * cols + n) * groups + g;
                    int exponent = Byte.toUnsignedInt(exponents.get(ValueLayout.JAVA_BYTE, scaleIndex)) - SCALE_BIAS;
                    for (int j = 0; j < BLOCK / 2; j++) {
                        int b = Byte.toUnsignedInt(packed.get(ValueLayout.JAVA_BYTE, scaleIndex * (BLOCK / 2) + j));
                        int at = (g * BLOCK + 2 * j) * cols + n; // the stored (n, k) lands at (k, n)
                        values[at] = Math.scalb(FP4[b & 0xF], exponent);
                        values[at + cols] = Math.scalb(FP4[b >>> 4], exponent);
                    }
                }
            }
            try (TensorScope staging = TensorScope.detached()) {
                Tensor expert = Tensor.of(Device.cpu(), staging, values, Shape.of(rows, cols));
                Tensor onDevice = into.device().isCpu() ? expert : expert.copyTo(into.device(), staging);
                into.device().backend().copy().copy(onDevice, out.slice(0, e, e + 1).reshape(rows, cols));
            }
        }
        return out;
    }

    private static void requirePacking(String name, Shape shape, TensorInfo blocks, TensorInfo scales) {
        if (shape.rank() != 3 || shape.dim(1) % BLOCK != 0) {
            throw new IllegalArgumentException("weight '" + name + "' is stored as MXFP4, which packs only stacked (E, K, N) "
                    + "parameters with K a multiple of " + BLOCK + "; the config implies " + shape);
        }
        long[] expectedBlocks = {shape.dim(0), shape.dim(2), shape.dim(1) / BLOCK, BLOCK / 2};
        long[] expectedScales = Arrays.copyOf(expectedBlocks, 3);
        if (blocks.dtype() != DType.U8 || scales.dtype() != DType.U8
                || !Arrays.equals(blocks.shape(), expectedBlocks) || !Arrays.equals(scales.shape(), expectedScales)) {
            throw new IllegalArgumentException("weight '" + name + "' is stored as MXFP4 " + blocks.name() + " "
                    + blocks.dtype() + Arrays.toString(blocks.shape()) + " and " + scales.name() + " " + scales.dtype()
                    + Arrays.toString(scales.shape()) + ", which do not pack the shape " + shape + " the config implies "
                    + "(expected U8" + Arrays.toString(expectedBlocks) + " and U8" + Arrays.toString(expectedScales)
                    + "): check that config.json belongs to these weights");
        }
    }
}
