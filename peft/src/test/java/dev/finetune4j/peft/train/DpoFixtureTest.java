package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPO, label-smoothed DPO and IPO losses from our own log-probabilities (policy = base + LoRA, reference =
 * the adapter disabled) against TRL-style losses over transformers' log-probabilities.
 */
class DpoFixtureTest {
    /** qwen3's base stores bf16 values as bf16: loaded as float32, as the torch references computed them. */
    private static final LoadOptions F32 = ReferenceData.f32(Device.cpu());

    @Test
    void formulasMatchTheLlamaFixtureOnItsOwnLogProbs() {
        JsonNode fixture = TrainTestSupport.json(TrainTestSupport.resource("llama/dpo.json"));
        List<DpoTrainer.PairLogProbs> theirs = TrainTestSupport.dpoLogProbs(fixture);
        for (double beta : new double[]{0.1, 0.5}) {
            assertEquals(fixture.get("sigmoid_beta" + beta).asDouble(), mean(theirs, DpoConfig.sigmoid(beta)), 1e-12);
            assertEquals(fixture.get("sigmoid_beta" + beta + "_label_smoothing0.1").asDouble(),
                    mean(theirs, DpoConfig.sigmoid(beta).withLabelSmoothing(0.1)), 1e-12);
            assertEquals(fixture.get("ipo_beta" + beta).asDouble(), mean(theirs, DpoConfig.ipo(beta)), 1e-12);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3"})
    void lossesFromOurLogProbsMatch(String arch) {
        Path dir = TrainTestSupport.resource(arch);
        JsonNode fixture = TrainTestSupport.json(dir.resolve("dpo.json"));
        List<DpoTrainer.PairLogProbs> theirs = TrainTestSupport.dpoLogProbs(fixture);
        List<PreferenceExample> pairs = TrainTestSupport.dpoPairs(fixture);
        try (LanguageModel base = AutoModel.loadCausalLM(dir.resolve("base"), F32)) {
            PeftModel policy = Peft.load(base, dir.resolve("lora"));
            PreferenceDataset data = PreferenceDataset.of(pairs);
            List<DpoTrainer.ResponseLogProbs> reference;
            try (var off = policy.disableAdapter()) {
                reference = DpoTrainer.responseLogProbs(policy, data, 0);
            }
            List<DpoTrainer.PairLogProbs> ours = DpoTrainer.PairLogProbs.of(DpoTrainer.responseLogProbs(policy, data, 0), reference);
            // torch sums float32 token log-probabilities: agreement is bounded by a few float32 ulps of the sums
            double logProbBound = 0;
            double worstLogProb = 0;
            for (int i = 0; i < ours.size(); i++) {
                double[] a = values(ours.get(i));
                double[] b = values(theirs.get(i));
                for (int k = 0; k < 4; k++) {
                    logProbBound = Math.max(logProbBound, 4 * Math.ulp((float) b[k]));
                    worstLogProb = Math.max(worstLogProb, Math.abs(a[k] - b[k]));
                }
            }
            assertTrue(worstLogProb <= logProbBound, arch + ": log-probabilities differ by " + worstLogProb);
            double worstLoss = 0;
            for (double beta : new double[]{0.1, 0.5}) {
                for (DpoConfig cfg : List.of(DpoConfig.sigmoid(beta), DpoConfig.sigmoid(beta).withLabelSmoothing(0.1), DpoConfig.ipo(beta))) {
                    double expected = mean(theirs, cfg);
                    double actual = mean(ours, cfg);
                    // NOTE: IPO's slope |dL/dh| = 2|h - 1/(2 beta)| (2.5 to 10 here) magnifies the float32 rounding of
                    // the log-probability sums (a 2e-6 error in h, about one ulp of a sum near -20) beyond 1e-6.
                    double tolerance = cfg.lossType() == DpoLossType.IPO ? 1e-6 + meanSlope(theirs, cfg) * 2e-6 : 1e-6;
                    worstLoss = Math.max(worstLoss, Math.abs(actual - expected));
                    System.out.printf("%s %s: |loss diff| %.3e (tolerance %.1e)%n", arch, cfg, Math.abs(actual - expected), tolerance);
                    assertEquals(expected, actual, tolerance, arch + " " + cfg);
                }
                assertEquals(accuracy(theirs, beta), accuracy(ours, beta), 1e-12, arch + " reward accuracy");
            }
            System.out.printf("%s DPO: max |log-prob diff| %.3e, max |loss diff| %.3e%n", arch, worstLogProb, worstLoss);
        }
    }

    private static double[] values(DpoTrainer.PairLogProbs p) {
        return new double[]{p.policyChosen(), p.policyRejected(), p.referenceChosen(), p.referenceRejected()};
    }

    /** Mean |dLoss/dh| over the pairs. */
    private static double meanSlope(List<DpoTrainer.PairLogProbs> pairs, DpoConfig cfg) {
        return pairs.stream().mapToDouble(p -> Math.abs(DpoLoss.dLossDh(cfg,
                (p.policyChosen() - p.referenceChosen()) - (p.policyRejected() - p.referenceRejected())))).average().orElseThrow();
    }

    private static double mean(List<DpoTrainer.PairLogProbs> pairs, DpoConfig cfg) {
        return pairs.stream().mapToDouble(p -> p.loss(cfg)).average().orElseThrow();
    }

    private static double accuracy(List<DpoTrainer.PairLogProbs> pairs, double beta) {
        return pairs.stream().mapToDouble(p -> p.rewardMargin(beta) > 0 ? 1 : 0).average().orElseThrow();
    }
}
