package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.preference.Feedback;
import dev.finetune4j.data.preference.FeedbackLog;
import dev.finetune4j.data.preference.PreferenceBuilder;
import dev.finetune4j.data.preference.PreferenceExport;
import dev.finetune4j.data.preference.PreferencePair;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.train.DpoConfig;
import dev.finetune4j.peft.train.DpoTrainer;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.samples.quickstart.data.PromptFormat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Step 6a: preference pairs from the thumbs up/down log (majority per response, ties dropped, margin >= 1), minus
 * pairs whose prompt occurs in the test split (so the test stays unseen), then a short DPO round on the SFT
 * adapter. The reference model is the SFT model (the policy as DPO starts), so DPO moves away from what SFT
 * reached rather than back towards the base.
 */
final class DpoStage {
    private static final int MICRO_BATCH = 8;

    private DpoStage() {
    }

    /**
     * What the DPO round did.
     *
     * @param stats        the preference builder's statistics over the whole log
     * @param pairs        pairs trained on
     * @param heldOut      pairs dropped because their prompt is a test question
     * @param training     the trainer's result
     * @param before       each training pair's response log-probabilities under the SFT model (the reference)
     * @param after        the same under the model after DPO
     * @param beta         DPO's beta, for the reward margin
     */
    record Result(PreferenceBuilder.Result stats, int pairs, int heldOut, TrainResult training,
                  List<DpoTrainer.ResponseLogProbs> before, List<DpoTrainer.ResponseLogProbs> after, double beta) {

        /** Share of the pairs whose chosen response the SFT model (false) or the DPO model (true) finds more likely. */
        double pairAccuracy(boolean afterDpo) {
            List<DpoTrainer.ResponseLogProbs> lp = afterDpo ? after : before;
            return lp.stream().filter(DpoTrainer.ResponseLogProbs::prefersChosen).count() / (double) lp.size();
        }

        /** Mean DPO reward margin of the trained model against the SFT model (0 before DPO). */
        double rewardMargin() {
            return DpoTrainer.PairLogProbs.of(after, before).stream().mapToDouble(p -> p.rewardMargin(beta)).average().orElse(0);
        }
    }

    static Result run(PeftModel model, Precision precision, Path feedbackLog, List<QaExample> test, Path pairsFile,
                      QuickstartSettings s) throws IOException {
        PreferenceBuilder.Result built = new PreferenceBuilder(1).add(readFeedback(feedbackLog)).build();
        List<PreferencePair> pairs = built.pairs().stream()
                .filter(p -> test.stream().noneMatch(t -> t.question().contains(p.prompt()))).toList();
        PreferenceExport.write(pairs, pairsFile, PreferenceExport.Shape.TRL);
        Tokenizer tok = new ByteLevelTokenizer();
        PreferenceDataset data = PreferenceDataset.of(pairs.stream().map(p -> new PreferenceExample(
                tok.encode(PromptFormat.prompt(p.prompt())), tok.encode(PromptFormat.completion(p.chosen())),
                tok.encode(PromptFormat.completion(p.rejected())))).toList());
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(s.dpoSteps()).microBatchSize(MICRO_BATCH)
                .learningRate(2e-4).weightDecay(0.0).schedule(Schedule.CONSTANT).maxGradNorm(1.0)
                .shuffle(true).seed(s.seed()).logEverySteps(0).precision(precision).build();
        List<DpoTrainer.ResponseLogProbs> before = DpoTrainer.responseLogProbs(model, data, ByteLevelTokenizer.PAD);
        TrainResult result = DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(s.dpoBeta()))
                .padTokenId(ByteLevelTokenizer.PAD).trainData(data)
                .listener(new ProgressLine("dpo")).build().train();
        List<DpoTrainer.ResponseLogProbs> after = DpoTrainer.responseLogProbs(model, data, ByteLevelTokenizer.PAD);
        return new Result(built, pairs.size(), built.pairs().size() - pairs.size(), result, before, after, s.dpoBeta());
    }

    /** The events of the bundled feedback log; a line that is not an event stops the run (the log ships whole). */
    static List<Feedback> readFeedback(Path log) throws IOException {
        FeedbackLog.Loaded loaded = FeedbackLog.read(log);
        if (!loaded.quarantined().isEmpty()) {
            BadLine first = loaded.quarantined().getFirst();
            throw new IOException(log + " line " + first.line() + ": " + first.reason());
        }
        return loaded.events();
    }
}
