package dev.finetune4j.peft.train;

/**
 * What the objectives over preference pairs share (DPO, ORPO, SimPO, reward models): the pairs, one loss unit per
 * pair, the fingerprint of every pair's tokens, and no dropout, as TRL's preference trainers default to
 * ({@code disable_dropout}): a pair's two sequences, and the policy and its reference, are scored by one function.
 */
abstract class PairObjective implements Objective {
    final PreferenceDataset data;

    PairObjective(PreferenceDataset data) {
        this.data = data;
    }

    @Override
    public final boolean dropout() {
        return false;
    }

    @Override
    public final int size() {
        return data.size();
    }

    @Override
    public final long fingerprint() {
        return PairSequences.fingerprint(data);
    }

    /** Pairs: each is one unit of the mean. */
    @Override
    public final long weight(int[] indices) {
        return indices.length;
    }
}
