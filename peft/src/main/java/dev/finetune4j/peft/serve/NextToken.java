package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.LogitsProcessing;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * One request's next token as a forward pass left it: chosen on the device for a greedy request without a penalty,
 * bias or log-probabilities (its argmax: two numbers back instead of a vocabulary's logits), else chosen by the
 * request from its row's logits on the host; or why none could be chosen (its logits hold NaN), which fails that
 * request alone.
 *
 * @param token    the chosen token
 * @param logprobs the token's log-probabilities when its request asks for them, else null
 * @param failure  why no token was chosen, or null
 */
record NextToken(int token, TokenLogprobs logprobs, RuntimeException failure) {

    /**
     * Each row's next token from a pass's last-position logits: the argmax of every row is read back when a request
     * chooses greedily on the device, the logits of the rows chosen on the host (sampled, penalised, biased, or asking
     * for log-probabilities) when they are few, else every row's logits (also when a row holds NaN). Rows chosen on the
     * host are chosen in parallel: a sampled row's softmax over a 150,000-word vocabulary takes over a millisecond,
     * which a batch of sampled requests would otherwise pay one after the other while the device waits.
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
        int hostRows = argmax == null ? onHost + onDevice : onHost;
        float[][] hostLogits = hostLogits(logits, rows, argmax == null, hostRows);
        NextToken[] out = new NextToken[rows.length];
        IntStream each = IntStream.range(0, rows.length);
        // each row's request (its random stream, its tokens) is touched by one task only
        (hostRows > 1 ? each.parallel() : each).forEach(i -> {
            ActiveRequest r = rows[i];
            if (r != null) {
                try {
                    out[i] = hostLogits[i] == null ? new NextToken((int) argmax[i], null, null) : r.choose(hostLogits[i]);
                } catch (RuntimeException e) {
                    out[i] = new NextToken(-1, null, e);
                }
            }
        });
        return out;
    }

    /**
     * The logits of each row chosen on the host, null for the others: one copy of the whole (rows, V) when at least
     * half of the rows need theirs, else one copy per such row, so that a greedy batch with one row asking for
     * log-probabilities still reads back little more than that row.
     */
    private static float[][] hostLogits(Tensor logits, ActiveRequest[] rows, boolean allOnHost, int hostRows) {
        float[][] out = new float[rows.length][];
        if (hostRows == 0) {
            return out;
        }
        int vocab = logits.dim(1);
        float[] all = 2 * hostRows >= rows.length ? logits.toFloatArray() : null;
        for (int i = 0; i < rows.length; i++) {
            ActiveRequest r = rows[i];
            if (r != null && (allOnHost || !r.choosesOnDevice())) {
                out[i] = all != null ? Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab) : logits.slice(0, i, i + 1).toFloatArray();
            }
        }
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
        return request.accept(token, logprobs, now, stats);
    }
}
