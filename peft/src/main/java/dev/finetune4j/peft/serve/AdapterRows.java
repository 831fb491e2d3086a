package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.models.decoder.ExpertTokens;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Which adapter version each row of the batch being computed uses (null: the base model), set by the decode thread
 * before every forward pass and read by the {@link MultiLoraLinear} and {@link MultiExpertsLora} wrappers during it,
 * which add each row's update through {@link #update}.
 *
 * <p>Thread safety: confined to the thread that runs forward passes.
 */
final class AdapterRows {
    /** One adapter's update of a run of entries: their base output y and input x to their adapted output. */
    interface Update {
        Tensor apply(Tensor y, Tensor x, LoraAdapter.Factors factors);
    }

    private LoraAdapter[] rows = new LoraAdapter[0];

    void set(LoraAdapter[] adapters) {
        rows = adapters.clone();
    }

    int size() {
        return rows.length;
    }

    LoraAdapter get(int row) {
        return rows[row];
    }

    /**
     * A layer's base output {@code y} (n, ..., out) of its input {@code x} (n, ..., in) with each run of consecutive
     * entries whose adapters hold the same factors under {@code key} given their update; entries of the base model, or
     * of an adapter that leaves {@code key} alone, keep {@code y}. An entry is a row of the batch, or, inside an expert
     * of a mixture, one of the tokens gathered for it, whose row {@link ExpertTokens} tells: their rows do not
     * decrease, so each request's tokens still form one run.
     *
     * @throws IllegalStateException when the entries match neither the rows set nor the expert's tokens
     */
    Tensor update(Tensor y, Tensor x, String key, Update update) {
        LoraAdapter.Factors[] factors = factors(x.dim(0), key);
        List<Tensor> parts = new ArrayList<>();
        boolean changed = false;
        int start = 0;
        while (start < factors.length) {
            LoraAdapter.Factors f = factors[start];
            int end = start + 1;
            while (end < factors.length && factors[end] == f) {
                end++;
            }
            Tensor ySlice = y.slice(0, start, end);
            if (f == null) {
                parts.add(ySlice);
            } else {
                parts.add(update.apply(ySlice, x.slice(0, start, end), f));
                changed = true;
            }
            start = end;
        }
        if (!changed) {
            return y;
        }
        return parts.size() == 1 ? parts.getFirst() : Concat.cat(0, parts.toArray(Tensor[]::new));
    }

    /** Each of the n entries' factors under {@code key}, null where its row has none. */
    private LoraAdapter.Factors[] factors(int n, String key) {
        ExpertTokens tokens = ExpertTokens.current();
        int expected = tokens == null ? rows.length : tokens.size();
        if (n != expected) {
            throw new IllegalStateException("'" + key + "' got " + n + " entries but " + (tokens == null
                    ? "the batch has " + rows.length + " rows" : "its expert " + tokens.size() + " tokens")
                    + "; the engine sets AdapterRows before every forward pass, and a mixture tells its experts' tokens");
        }
        LoraAdapter.Factors[] factors = new LoraAdapter.Factors[n];
        for (int i = 0; i < n; i++) {
            int row = tokens == null ? i : tokens.row(i);
            if (row >= rows.length) {
                throw new IllegalStateException("an expert's token of '" + key + "' comes from row " + row
                        + " of a batch of " + rows.length + " rows; the mixture's input must lead with the batch's rows");
            }
            LoraAdapter a = rows[row];
            factors[i] = a == null ? null : a.factors(key);
        }
        return factors;
    }
}
