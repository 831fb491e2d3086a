package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.LogitsProcessing;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * One request's next token as a forward pass left it: chosen on the device for a greedy request without a
 * repetition penalty (its argmax: two numbers back instead of a vocabulary's logits), else chosen by the request
 * from its row's logits on the host; or why none could be chosen (its logits hold NaN), which fails that request
 * alone.
 *
 * @param token   the chosen token
 * @param failure why no token was chosen, or null
 */
record NextToken(int token, RuntimeException failure) {

    /**
     * Each row's next token from a pass's last-position logits: the argmax of every row is read back when a request
     * chooses greedily, the logits when one samples (or penalises repetition) or a row holds NaN. Rows chosen on the host are chosen in
     * parallel: a sampled row's softmax over a 150,000-word vocabulary takes over a millisecond, which a batch of
     * sampled requests would otherwise pay one after the other while the device waits.
     *
     * @param logits the pass's logits, (rows, V)
     * @param rows the request of each row, null for a free slot
     * @return per row its next token, null for free slots
     */
    static NextToken[] of(Tensor logits, ActiveRequest[] rows) {
        int onDevice = 0;
        int onHost = 0;
        for (ActiveRequest r : rows) {
            if (r != null) {
                if (r.choosesOnDevice()) {
                    onDevice++;
                } else {
                    onHost++;
                }
            }
        }
        long[] argmax = onDevice > 0 ? LogitsProcessing.argmaxOnDevice(logits) : null;
        // a row holding NaN makes every row choose on the host, where that row alone is refused
        float[] all = onHost > 0 || (onDevice > 0 && argmax == null) ? logits.toFloatArray() : null;
        int vocab = logits.dim(1);
        NextToken[] out = new NextToken[rows.length];
        IntStream each = IntStream.range(0, rows.length);
        // each row's request (its random stream, its tokens) is touched by one task only
        int hostRows = argmax == null ? onHost + onDevice : onHost;
        (hostRows > 1 ? each.parallel() : each).forEach(i -> {
            ActiveRequest r = rows[i];
            if (r != null) {
                try {
                    out[i] = new NextToken(argmax != null && r.choosesOnDevice() ? (int) argmax[i]
                            : r.choose(Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab)), null);
                } catch (RuntimeException e) {
                    out[i] = new NextToken(-1, e);
                }
            }
        });
        return out;
    }

    /**
     * Gives the token to {@code request}.
     *
     * @return why the request ends after this token, or null when it goes on
     * @throws RuntimeException why no token could be chosen: the request fails with it
     */
    FinishReason applyTo(ActiveRequest request, long now, EngineStats stats) {
        if (failure != null) {
            throw failure;
        }
        return request.accept(token, now, stats);
    }
}
