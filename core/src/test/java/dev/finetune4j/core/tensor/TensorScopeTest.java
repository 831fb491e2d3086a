package dev.finetune4j.core.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Scope nesting, ownership and use-after-close. */
class TensorScopeTest {

    @Test
    void useAfterCloseThrows() {
        Tensor t;
        Tensor view;
        try (var s = TensorScope.open()) {
            t = Tensor.of(new float[]{1, 2, 3, 4}, 2, 2);
            view = t.transpose(0, 1);
        }
        assertThrows(IllegalStateException.class, () -> t.getFlat(0));
        assertThrows(IllegalStateException.class, t::toFloatArray);
        assertThrows(IllegalStateException.class, () -> view.get(0, 1));
        assertThrows(IllegalStateException.class, () -> t.set(1f, 0, 0));
        assertThrows(IllegalStateException.class, t::storage);
    }

    @Test
    void opsAllocateInTheInnermostScope() {
        try (var outer = TensorScope.open()) {
            Tensor a = Tensor.zeros(2);
            Tensor b;
            try (var inner = TensorScope.open()) {
                b = Tensor.zeros(2);
                assertSame(inner, TensorScope.current());
                assertSame(inner, b.scope());
            }
            assertSame(outer, TensorScope.current());
            assertSame(outer, a.scope());
            assertEquals(0f, a.getFlat(0), "the outer scope's tensors survive the inner close");
            assertThrows(IllegalStateException.class, () -> b.getFlat(0));
        }
        assertThrows(IllegalStateException.class, TensorScope::current, "no scope open");
    }

    @Test
    void scopesCloseInnermostFirstAndOnTheirThread() throws Exception {
        try (var outer = TensorScope.open()) {
            var inner = TensorScope.open();
            assertThrows(IllegalStateException.class, outer::close);
            assertSame(inner, TensorScope.current());
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(inner::close).get());
            assertInstanceOf(IllegalStateException.class, e.getCause());
            inner.close();
            inner.close(); // idempotent
            assertFalse(inner.isOpen());
        }
    }

    @Test
    void detachedScopesAreNeverCurrentAndCountBytes() {
        try (var params = TensorScope.detached()) {
            assertThrows(IllegalStateException.class, TensorScope::current);
            Tensor w = Tensor.zeros(params, DType.BF16, Shape.of(3, 5));
            assertEquals(30, params.allocatedBytes());
            try (var step = TensorScope.open()) {
                assertSame(step, TensorScope.current());
                assertSame(params, w.scope());
            }
        }
    }

    @Test
    void tensorsAreReadableFromOtherThreads() throws Exception {
        try (var s = TensorScope.open()) {
            Tensor t = Tensor.of(new float[]{7f}, 1);
            assertEquals(7f, CompletableFuture.supplyAsync(() -> t.getFlat(0)).get());
        }
    }
}
