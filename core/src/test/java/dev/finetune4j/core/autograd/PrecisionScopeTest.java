package dev.finetune4j.core.autograd;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Precision#use()} handles nest per thread and can only restore the precision in turn, on their own thread. */
class PrecisionScopeTest {

    @Test
    void handlesNestAndRestoreInnermostFirst() {
        assertEquals(Precision.F32, Precision.current());
        try (var outer = Precision.BF16_MIXED.use()) {
            try (var inner = Precision.F32.use()) {
                assertEquals(Precision.F32, Precision.current());
            }
            assertEquals(Precision.BF16_MIXED, Precision.current());
        }
        assertEquals(Precision.F32, Precision.current());
    }

    @Test
    void closingOutOfTurnIsRefusedAndLeaksNothing() {
        var outer = Precision.BF16_MIXED.use();
        var inner = Precision.F32.use();
        // closing outer first used to restore F32, then inner restored BF16_MIXED: bf16 after both were closed
        var e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("innermost first"), e.getMessage());
        assertEquals(Precision.F32, Precision.current(), "the refused close changed nothing");
        inner.close();
        assertEquals(Precision.BF16_MIXED, Precision.current());
        outer.close();
        outer.close();
        assertEquals(Precision.F32, Precision.current());
    }

    @Test
    void anotherThreadCannotCloseAHandle() throws Exception {
        try (var mixed = Precision.BF16_MIXED.use()) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(mixed::close).get());
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("thread that opened it"), e.getCause().getMessage());
            assertEquals(Precision.BF16_MIXED, Precision.current(), "still open on this thread");
            assertEquals(Precision.F32, CompletableFuture.supplyAsync(Precision::current).get(), "per thread");
        }
        assertEquals(Precision.F32, Precision.current());
    }
}
