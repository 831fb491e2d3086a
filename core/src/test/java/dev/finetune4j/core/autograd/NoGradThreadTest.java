package dev.finetune4j.core.autograd;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recording is per thread: a handle closed on another thread used to turn that thread's recording off for good (its
 * count went below zero) and leave the owner's off. It is refused, and both threads keep their state.
 */
class NoGradThreadTest {
    @Test
    void aHandleClosedOnAnotherThreadIsRefusedAndChangesNeither() throws Exception {
        var noGrad = Autograd.noGrad();
        var enable = Autograd.enableGrad();
        enable.close();
        CompletableFuture<Boolean> other = CompletableFuture.supplyAsync(() -> {
            Throwable refused = null;
            try {
                noGrad.close();
            } catch (IllegalStateException e) {
                refused = e;
            }
            assertInstanceOf(IllegalStateException.class, refused);
            return Autograd.isEnabled();
        });
        assertTrue(other.get(), "the other thread's recording must stay on");
        assertFalse(Autograd.isEnabled(), "this thread's handle is still open");
        noGrad.close();
        assertTrue(Autograd.isEnabled());
    }
}
