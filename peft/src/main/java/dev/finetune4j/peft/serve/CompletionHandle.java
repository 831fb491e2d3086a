package dev.finetune4j.peft.serve;

import java.util.concurrent.CompletableFuture;

/**
 * A submitted request: its future result and a way to cancel it. Thread-safe.
 */
public final class CompletionHandle {
    private final CompletableFuture<Completion> completion;
    private final Runnable canceller;

    CompletionHandle(CompletableFuture<Completion> completion, Runnable canceller) {
        this.completion = completion;
        this.canceller = canceller;
    }

    /**
     * The completion, completed normally for every {@link FinishReason} (also after {@link #cancel()}) and
     * exceptionally only when the engine failed on this request (for example a model error). Cancelling this future
     * itself does not stop generation; call {@link #cancel()}.
     *
     * @return the future completion
     */
    public CompletableFuture<Completion> completion() {
        return completion;
    }

    /**
     * Asks the engine to stop the request: the completion then ends with {@link FinishReason#CANCELLED} and the
     * tokens generated so far (within one decoding step). Does nothing once the request has finished.
     */
    public void cancel() {
        canceller.run();
    }
}
