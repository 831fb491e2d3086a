package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.List;

/**
 * The two sequences of each preference pair (prompt + chosen, prompt + rejected) as the preference objectives (DPO,
 * ORPO, SimPO) read them: checked once against the model, hashed for resume, and batched with the N chosen
 * sequences first, then the N rejected ones in the same order.
 */
final class PairSequences {
    private PairSequences() {
    }

    /** Fails, naming the pair, when a sequence is longer than the model reads or has a token outside its vocabulary. */
    static void requireUsable(PreferenceDataset data, PeftModel model) {
        for (int i = 0; i < data.size(); i++) {
            PreferenceExample e = data.get(i);
            Objective.requireFits(e.prompt().length + Math.max(e.chosen().length, e.rejected().length), model,
                    "pair " + i + " (prompt + longer response)");
            Objective.requireInVocabulary(e.sequence(true), model, "pair " + i + " (prompt + chosen)");
            Objective.requireInVocabulary(e.sequence(false), model, "pair " + i + " (prompt + rejected)");
        }
    }

    /** A {@link Fingerprint} of every pair's prompt, chosen and rejected tokens, in order. */
    static long fingerprint(PreferenceDataset data) {
        Fingerprint f = new Fingerprint();
        for (int i = 0; i < data.size(); i++) {
            PreferenceExample e = data.get(i);
            f.add(e.prompt()).add(e.chosen()).add(e.rejected());
        }
        return f.value();
    }

    /**
     * The 2N sequences of these pairs, chosen ones first. Labels cover the responses only, except on the chosen
     * sequences when {@code labelChosenPrompt} (ORPO's NLL term also predicts the prompt's tokens).
     */
    static List<TokenizedExample> rows(PreferenceDataset data, int[] indices, boolean labelChosenPrompt) {
        List<TokenizedExample> rows = new ArrayList<>(2 * indices.length);
        for (int i : indices) {
            TokenizedExample chosen = data.get(i).sequence(true);
            rows.add(labelChosenPrompt ? new TokenizedExample(chosen.inputIds(), chosen.inputIds(), null) : chosen);
        }
        for (int i : indices) {
            rows.add(data.get(i).sequence(false));
        }
        return rows;
    }
}
