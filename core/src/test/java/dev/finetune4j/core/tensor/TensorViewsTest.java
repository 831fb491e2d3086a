package dev.finetune4j.core.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shapes, view values, shared storage, element access and dtype conversion of whole tensors. */
class TensorViewsTest {
    private static float[] iota(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i;
        }
        return v;
    }

    @Test
    void shapeBasics() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(24, s.numel());
        assertEquals(4, s.dim(-1));
        assertEquals(6, s.rows());
        assertArrayEquals(new long[]{12, 4, 1}, s.contiguousStrides());
        assertEquals(Shape.of(2, 5, 4), s.with(-2, 5));
        assertEquals(Shape.of(2, 3, 4), Shape.of(new long[]{2, 3, 4}));
        assertEquals(s.hashCode(), Shape.of(2, 3, 4).hashCode());
        assertEquals(1, Shape.of().numel());
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> s.dim(3));
        assertThrows(ArithmeticException.class, () -> Shape.of(1 << 30, 1 << 30, 1 << 30));
        assertThrows(ArithmeticException.class, () -> Shape.of(new long[]{1L << 32}));
    }

    @Test
    void viewsShareStorage() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(iota(24), 2, 3, 4);
            Tensor p = t.permute(2, 0, 1);
            Tensor sl = t.slice(1, 1, 3);
            Tensor r = t.reshape(6, 4);
            assertSame(t.storage(), p.storage());
            assertSame(t.storage(), sl.storage());
            assertSame(t.storage(), r.storage());
            t.set(-1f, 1, 2, 3);
            assertEquals(-1f, p.get(3, 1, 2));
            assertEquals(-1f, sl.get(1, 1, 3));
            assertEquals(-1f, r.get(5, 3));
            sl.set(42f, 0, 0, 0);
            assertEquals(42f, t.get(0, 1, 0), "writes through a view reach the base");
        }
    }

    @Test
    void viewValues() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(iota(6), 2, 3);
            assertArrayEquals(new float[]{0, 3, 1, 4, 2, 5}, t.transpose(0, 1).toFloatArray());
            assertArrayEquals(new int[]{3, 2}, t.transpose(1, 0).shape().dims());
            Tensor u = Tensor.of(iota(24), 2, 3, 4);
            Tensor p = u.permute(1, 2, 0);
            assertArrayEquals(new int[]{3, 4, 2}, p.shape().dims());
            assertEquals(u.get(1, 2, 3), p.get(2, 3, 1));
            assertArrayEquals(new float[]{5, 6, 9, 10, 17, 18, 21, 22}, u.slice(1, 1, 3).slice(2, 1, 3).toFloatArray());
            assertArrayEquals(new float[]{12, 13, 14, 15}, u.slice(0, 1, 2).slice(1, 0, 1).reshape(-1).toFloatArray());
            assertArrayEquals(new int[]{4, 6}, u.reshape(4, -1).shape().dims());
            assertThrows(IllegalArgumentException.class, () -> u.reshape(5, -1));
            assertThrows(IllegalArgumentException.class, () -> u.reshape(-1, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> u.slice(0, 1, 3));
            assertThrows(IllegalArgumentException.class, () -> u.permute(0, 1));
        }
    }

    @Test
    void contiguousCopiesOnlyWhenNeeded() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(iota(12), 3, 4);
            assertSame(t, t.contiguous());
            Tensor tt = t.transpose(0, 1);
            assertFalse(tt.isContiguous());
            Tensor c = tt.contiguous();
            assertTrue(c.isContiguous());
            assertNotSame(t.storage(), c.storage());
            assertArrayEquals(tt.toFloatArray(), c.toFloatArray());
            // reshape of a non-contiguous view copies first and keeps the logical order
            assertArrayEquals(tt.toFloatArray(), tt.reshape(12).toFloatArray());
            assertTrue(t.slice(0, 1, 2).isContiguous(), "a row slice is contiguous (with an offset)");
            assertArrayEquals(new float[]{4, 5, 6, 7}, t.slice(0, 1, 2).contiguous().toFloatArray());
        }
    }

    @Test
    void integerTensorsCopyExactly() {
        try (var s = TensorScope.open()) {
            Tensor ids = Tensor.zeros(s, DType.I64, Shape.of(2, 2));
            long big = (1L << 40) + 1;
            DTypeCodec.writeLong(ids.hostSegment(), DType.I64, 1, big);
            assertArrayEquals(new long[]{0, big, 0, 0}, ids.toLongArray());
            assertArrayEquals(new long[]{0, 0, big, 0}, ids.transpose(0, 1).contiguous().toLongArray(),
                    "a contiguous copy of an I64 view must not pass through float32");
        }
    }

    @Test
    void dtypeConversionOfTensors() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[]{1f, 1.00390625f, -2.5f, 65520f}, 4);
            Tensor bf = t.to(DType.BF16);
            assertEquals(DType.BF16, bf.dtype());
            assertArrayEquals(new float[]{1f, 1f, -2.5f, 65536f}, bf.toFloatArray(), "1 + 2^-8 ties to 1; 65520 rounds to 65536");
            assertArrayEquals(new float[]{1f, 1.00390625f, -2.5f, Float.POSITIVE_INFINITY}, t.to(DType.F16).toFloatArray());
            assertSame(t, t.to(DType.F32));
            Tensor i32 = t.to(DType.I32);
            assertArrayEquals(new long[]{1, 1, -2, 65520}, i32.toLongArray(), "float to int truncates");
            assertArrayEquals(new float[]{1, 1, -2, 65520}, i32.to(DType.F32).toFloatArray());
            assertThrows(IllegalStateException.class, () -> bf.get(0), "element access needs F32");
            assertThrows(IllegalArgumentException.class, () -> i32.requiresGrad(true));
        }
    }
}
