package dev.finetune4j.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads and writes single elements of any {@link DType} at an element index (little-endian storage). */
public final class DTypeCodec {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private DTypeCodec() {
    }

    /**
     * Reads element {@code index} as a float (integers are converted).
     *
     * @param seg the memory
     * @param t the element type; not NF4
     * @param index the element's index
     * @return the value
     */
    public static float readFloat(MemorySegment seg, DType t, long index) {
        return switch (t) {
            case F32 -> seg.getAtIndex(F32, index);
            case BF16 -> DTypeConversions.bf16ToFloat(seg.getAtIndex(I16, index));
            case F16 -> DTypeConversions.f16ToFloat(seg.getAtIndex(I16, index));
            default -> readLong(seg, t, index);
        };
    }

    /**
     * Writes element {@code index} from a float (rounded to nearest-even for BF16 and F16, truncated for integers).
     *
     * @param seg the memory
     * @param t the element type; not NF4
     * @param index the element's index
     * @param v the value
     */
    public static void writeFloat(MemorySegment seg, DType t, long index, float v) {
        switch (t) {
            case F32 -> seg.setAtIndex(F32, index, v);
            case BF16 -> seg.setAtIndex(I16, index, DTypeConversions.floatToBf16(v));
            case F16 -> seg.setAtIndex(I16, index, DTypeConversions.floatToF16(v));
            default -> writeLong(seg, t, index, (long) v);
        }
    }

    /**
     * Reads element {@code index} as a long (floats are truncated).
     *
     * @param seg the memory
     * @param t the element type; not NF4
     * @param index the element's index
     * @return the value
     */
    public static long readLong(MemorySegment seg, DType t, long index) {
        return switch (t) {
            case I64 -> seg.getAtIndex(I64, index);
            case I32 -> seg.getAtIndex(I32, index);
            case I8 -> seg.get(ValueLayout.JAVA_BYTE, index);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case F32, BF16, F16 -> (long) readFloat(seg, t, index);
            case NF4 -> throw new UnsupportedOperationException("NF4 values are block-quantized: dequantize with Tensor.convertTo(DType.F32, scope)");
        };
    }

    /**
     * Writes element {@code index} from a long (BOOL stores 1 for any non-zero value).
     *
     * @param seg the memory
     * @param t the element type; not NF4
     * @param index the element's index
     * @param v the value
     */
    public static void writeLong(MemorySegment seg, DType t, long index, long v) {
        switch (t) {
            case I64 -> seg.setAtIndex(I64, index, v);
            case I32 -> seg.setAtIndex(I32, index, (int) v);
            case I8, U8 -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) v);
            case BOOL -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (v != 0 ? 1 : 0));
            case F32, BF16, F16 -> writeFloat(seg, t, index, v);
            case NF4 -> throw new UnsupportedOperationException("NF4 values are block-quantized: quantize with Tensor.convertTo(DType.NF4, scope)");
        }
    }
}
