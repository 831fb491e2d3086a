package dev.finetune4j.samples.quickstart;

/**
 * The knobs of a quickstart run. {@link #defaults()} is the README's run (under 5 minutes on 2 cores);
 * {@link #smoke()} the same pipeline with few steps for the test suite (numbers then mean little).
 *
 * @param seed          seed of the data split, adapter initialisation, shuffling and dropout
 * @param pretraining   how the base model is pretrained when the cache is missing
 * @param sftEpochs     most SFT epochs (early stopping may end sooner)
 * @param sftLearningRate LoRA learning rate
 * @param loraRank      LoRA rank r (alpha = 2r)
 * @param patience      evaluations without improvement of the validation loss before stopping
 * @param dpoSteps      DPO optimizer steps
 * @param dpoBeta       DPO beta
 * @param answerTokens  most tokens (bytes) of a generated answer in the evaluations
 */
public record QuickstartSettings(long seed, BasePretraining.Settings pretraining, int sftEpochs,
                                 double sftLearningRate, int loraRank, int patience, int dpoSteps, double dpoBeta,
                                 int answerTokens) {
    /** Room for the longest reference answer, about 120 bytes. */
    private static final int README_ANSWER_TOKENS = 160;

    /**
     * The README's run.
     *
     * @return the default settings
     */
    public static QuickstartSettings defaults() {
        return new QuickstartSettings(42, BasePretraining.Settings.defaults(), 12, 1e-2, 16, 2, 16, 0.1,
                README_ANSWER_TOKENS);
    }

    /**
     * A fast run of the same pipeline (the smoke test): its barely trained models rarely end an answer, so answers
     * are cut at 32 tokens, most of what the evaluations would spend otherwise.
     *
     * @return the smoke-test settings
     */
    public static QuickstartSettings smoke() {
        return new QuickstartSettings(42, BasePretraining.Settings.defaults().withSteps(12), 1, 3e-3, 8, 1, 3, 0.1,
                32);
    }

    /**
     * These settings with another seed.
     *
     * @param newSeed the seed
     * @return new settings
     */
    public QuickstartSettings withSeed(long newSeed) {
        return new QuickstartSettings(newSeed, pretraining, sftEpochs, sftLearningRate, loraRank, patience, dpoSteps,
                dpoBeta, answerTokens);
    }
}
