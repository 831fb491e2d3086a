package dev.finetune4j.core.tensor;

import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A caller's mistakes with shapes, views and element access are refused with the values named, never read as garbage. */
class TensorMisuseTest {

    @Test
    void flatAccessStaysInsideTheTensorAndNeedsAContiguousOne() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor firstRow = t.slice(0, 0, 1);
            Tensor secondRow = t.slice(0, 1, 2);
            assertEquals(6f, secondRow.getFlat(2), "the last element of row 2");
            // index 3 of the first row is element 0 of the second: the storage allows it, the view must not
            var past = assertThrows(IndexOutOfBoundsException.class, () -> firstRow.getFlat(3));
            assertTrue(past.getMessage().contains("flat index 3") && past.getMessage().contains("3 elements"), past.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> secondRow.getFlat(-1), "would read row 1's last value");
            assertThrows(IndexOutOfBoundsException.class, () -> secondRow.setFlat(3, 9f));
            var transposed = assertThrows(IllegalStateException.class, () -> t.transpose(0, 1).getFlat(1));
            assertTrue(transposed.getMessage().contains("contiguous"), transposed.getMessage());
            assertEquals(4f, t.transpose(0, 1).get(0, 1), "element (0, 1) of the transpose is t's (1, 0)");
            assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, t.toFloatArray(), "the refused set wrote nothing");
        }
    }

    @Test
    void permuteNamesEachDimensionOnceAndCountsNegativesFromTheEnd() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            var twice = assertThrows(IllegalArgumentException.class, () -> t.permute(0, 0));
            assertTrue(twice.getMessage().contains("[0, 0]") && twice.getMessage().contains("twice"), twice.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> t.permute(1, 2));
            // (-1, 0) is (1, 0): the transpose, rows [1, 4], [2, 5], [3, 6]
            assertArrayEquals(new float[]{1, 4, 2, 5, 3, 6}, t.permute(-1, 0).contiguous().toFloatArray());
        }
    }

    @Test
    void aViewMustStayInsideItsStorage() {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            var past = assertThrows(IllegalArgumentException.class, () -> t.view(Shape.of(4, 3), new long[]{3, 1}, 0));
            assertTrue(past.getMessage().contains("[4, 3]") && past.getMessage().contains("6 F32"), past.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.view(Shape.of(2), new long[]{1}, 5), "elements 5 and 6");
            assertThrows(IllegalArgumentException.class, () -> t.view(Shape.of(2), new long[]{1}, -1));
            assertThrows(IllegalArgumentException.class, () -> t.view(Shape.of(2, 2), new long[]{-4, 1}, 1),
                    "a negative stride reaching before element 0");
            assertThrows(IllegalArgumentException.class, () -> t.view(Shape.of(2, 2), new long[]{Long.MAX_VALUE, 1}, 0),
                    "a stride whose reach overflows a long");
            var rank = assertThrows(IllegalArgumentException.class, () -> t.view(Shape.of(6), new long[]{3, 1}, 0));
            assertTrue(rank.getMessage().contains("needs 1 strides"), rank.getMessage());
            // the last column, read through a view the check allows: offsets 2 and 5
            assertArrayEquals(new float[]{3, 6}, t.view(Shape.of(2), new long[]{3}, 2).contiguous().toFloatArray());
            long[] strides = {1};
            Tensor row = t.view(Shape.of(3), strides, 3);
            strides[0] = 3;
            assertArrayEquals(new float[]{4, 5, 6}, row.toFloatArray(), "the view keeps its own copy of the strides");
        }
    }

    @Test
    void aShapeWhoseByteSizeOverflowsIsRefusedBeforeAnythingIsAllocated() {
        try (var s = TensorScope.open()) {
            // 2^62 floats are 2^64 bytes, which a plain long product wraps to 0: a 0-byte buffer for 2^62 values
            var floats = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.zeros(s, Device.cpu(), DType.F32, Shape.of(1 << 30, 1 << 30, 4)));
            assertTrue(floats.getMessage().contains(String.valueOf(1L << 62)) && floats.getMessage().contains("F32"),
                    floats.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> Tensor.zeros(s, Device.meta(), DType.I64, Shape.of(1 << 30, 1 << 30, 2)), "2^61 longs, 2^64 bytes");
            assertEquals(0, s.allocatedBytes());
            assertEquals(16L, DType.I64.bytesFor(2), "ordinary sizes are unchanged");
            assertThrows(IllegalArgumentException.class, () -> DType.F32.bytesFor(-1));
        }
    }

    /** Copying more values than one Java array holds is refused by name (it was a bare "integer overflow"). */
    @Test
    void aHostCopyPastOneArrayIsRefusedNamingItsSize() {
        try (var s = TensorScope.open()) {
            Tensor big = Tensor.zeros(s, Device.meta(), DType.F32, Shape.of(1 << 16, 1 << 16)); // shapes only: no memory
            var floats = assertThrows(IllegalStateException.class, big::toFloatArray);
            assertTrue(floats.getMessage().contains("toFloatArray") && floats.getMessage().contains(String.valueOf(1L << 32))
                    && floats.getMessage().contains("slices"), floats.getMessage());
            var longs = assertThrows(IllegalStateException.class,
                    () -> Tensor.zeros(s, Device.meta(), DType.I64, Shape.of(1 << 16, 1 << 16)).toLongArray());
            assertTrue(longs.getMessage().contains("toLongArray"), longs.getMessage());
        }
    }

    @Test
    void shapeOverflowsNameTheSizes() {
        var product = assertThrows(ArithmeticException.class, () -> Shape.of(1 << 30, 1 << 30, 1 << 30));
        assertTrue(product.getMessage().contains("[1073741824, 1073741824, 1073741824]"), product.getMessage());
        var size = assertThrows(ArithmeticException.class, () -> Shape.of(new long[]{2, 1L << 32}));
        assertTrue(size.getMessage().contains("4294967296") && size.getMessage().contains("dimension 1"), size.getMessage());
        assertEquals(0, Shape.of(0, Integer.MAX_VALUE, Integer.MAX_VALUE).numel(), "an empty dimension empties the shape");
    }

    @Test
    void aGradientHasItsParametersShape() {
        try (var s = TensorScope.open()) {
            Tensor w = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
            var e = assertThrows(IllegalArgumentException.class, () -> w.setGrad(Tensor.zeros(5)));
            assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("[5]"), e.getMessage());
            assertEquals(null, w.grad());
            var meta = Tensor.zeros(s, Device.meta(), DType.F32, Shape.of(2));
            assertThrows(IllegalArgumentException.class, () -> w.setGrad(meta), "a gradient on another device");
            Tensor g = Tensor.of(new float[]{3, 4}, 2);
            w.setGrad(g);
            assertArrayEquals(new float[]{3, 4}, w.grad().toFloatArray());
            w.setGrad(null);
            assertEquals(null, w.grad());
        }
    }

    @Test
    void closingAScopeClosesEveryResourceEvenWhenOneFails() {
        List<String> closed = new ArrayList<>();
        TensorScope scope = TensorScope.detached();
        scope.closeWith(() -> closed.add("first"));
        scope.closeWith(() -> {
            throw new java.io.IOException("disk gone");
        });
        scope.closeWith(() -> closed.add("third"));
        var e = assertThrows(IllegalStateException.class, scope::close);
        assertTrue(e.getMessage().contains("disk gone"), e.getMessage());
        assertEquals(List.of("third", "first"), closed, "resources close newest first, all of them");
    }
}
