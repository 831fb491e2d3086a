package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * One request's next token as a forward pass left it: chosen on the device, for a greedy request without a
 * repetition penalty (its argmax, one number back instead of a vocabulary's logits), or the logits of its last
 * position, from which the request chooses on the host.
 *
 * @param chosen the token chosen on the device, when {@code logits} is null
 * @param logits the row's logits (V) to choose from, or null
 */
record NextToken(long chosen, float[] logits) {

    /**
     * Each row's next token from a pass's last-position logits: the argmax of every row is read back when a request
     * chooses greedily, the logits when one samples (or penalises repetition).
     *
     * @param logits the pass's logits, (rows, V)
     * @param rows the request of each row, null for a free slot
     * @return per row its next token, null for free slots
     */
    static NextToken[] of(Tensor logits, ActiveRequest[] rows) {
        boolean anyGreedy = false;
        boolean anyOnHost = false;
        for (ActiveRequest r : rows) {
            anyGreedy |= r != null && r.choosesOnDevice();
            anyOnHost |= r != null && !r.choosesOnDevice();
        }
        long[] argmax = anyGreedy ? Reductions.argmax(logits).toLongArray() : null;
        float[] all = anyOnHost ? logits.toFloatArray() : null;
        int vocab = logits.dim(1);
        NextToken[] out = new NextToken[rows.length];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != null) {
                out[i] = rows[i].choosesOnDevice() ? new NextToken(argmax[i], null)
                        : new NextToken(-1, Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab));
            }
        }
        return out;
    }

    /**
     * Gives the token to {@code request}: chosen here, or chosen by the request from the logits.
     *
     * @return why the request ends after this token, or null when it goes on
     */
    FinishReason applyTo(ActiveRequest request, long now, EngineStats stats) {
        return logits == null ? request.accept((int) chosen, now, stats) : request.next(logits, now, stats);
    }
}
