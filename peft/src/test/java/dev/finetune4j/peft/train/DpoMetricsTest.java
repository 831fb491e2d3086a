package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.opaque.OpaqueBackend;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The DPO reward metrics, summed on the device and read back with the loss, against values computed on the host in
 * double: the first step's against the Python fixture's log-probabilities (policy: the fixture's LoRA adapter,
 * reference: the base model), an evaluation's against our own log-probabilities of the updated policy, both over
 * several micro-batches; and a micro-batch reads nothing back by itself (on the opaque test device, which counts
 * host transfers).
 */
class DpoMetricsTest {
    private static final Path DIR = TrainTestSupport.resource("llama");
    private static final double BETA = 0.1;

    @Test
    void trainingAndEvaluationMetricsEqualTheHostFormulas() {
        JsonNode fixture = TrainTestSupport.json(DIR.resolve("dpo.json"));
        PreferenceDataset data = pairs(fixture);
        List<DpoTrainer.PairLogProbs> python = TrainTestSupport.dpoLogProbs(fixture);
        // 6 pairs in 3 micro-batches of 2, one optimizer step over all of them; evaluation after each step
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(2).gradientAccumulationSteps(3)
                .learningRate(5e-3).schedule(Schedule.CONSTANT).shuffle(false).seed(42).logEverySteps(0)
                .evalEverySteps(1).build();
        List<StepMetrics> steps = new ArrayList<>();
        List<EvalMetrics> evals = new ArrayList<>();
        List<List<DpoTrainer.ResponseLogProbs>> policyAfterStep = new ArrayList<>();
        try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"))) {
            PeftModel model = Peft.loadTrainable(base, DIR.resolve("lora"));
            List<DpoTrainer.ResponseLogProbs> reference;
            DpoTrainer trainer;
            // built with the adapter off, the trainer's reference is the base model, as in the fixture
            try (var off = model.disableAdapter()) {
                reference = DpoTrainer.responseLogProbs(model, data, 0);
                trainer = DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(BETA))
                        .trainData(data).evalData(data).listener(new TrainingListener() {
                            @Override
                            public void onStep(StepMetrics m) {
                                steps.add(m);
                                policyAfterStep.add(DpoTrainer.responseLogProbs(model, data, 0));
                            }

                            @Override
                            public void onEvaluation(EvalMetrics m) {
                                evals.add(m);
                            }
                        }).build();
            }
            trainer.train();
            assertMetrics(hostMetrics(python), steps.getFirst().extra(), "step 1 against the Python fixture");
            for (int s = 0; s < 2; s++) {
                Map<String, Double> expected = hostMetrics(DpoTrainer.PairLogProbs.of(policyAfterStep.get(s), reference));
                assertMetrics(expected, evals.get(s).extra(), "evaluation after step " + (s + 1));
                if (s == 0) {
                    assertMetrics(expected, steps.get(1).extra(), "step 2");
                }
            }
        }
    }

    @Test
    void aMicroBatchUploadsItsReferenceAndReadsNothingBack() {
        OpaqueBackend backend = OpaqueBackendProvider.backend();
        PreferenceDataset data = pairs(TrainTestSupport.json(DIR.resolve("dpo.json")));
        try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"),
                LoadOptions.builder().device(OpaqueBackendProvider.device()).build())) {
            PeftModel model = Peft.loadTrainable(base, DIR.resolve("lora"));
            DpoObjective objective = new DpoObjective(model, data, DpoConfig.sigmoid(BETA), 0);
            int[] batch = {0, 1, 2};
            try (var scope = TensorScope.open()) {
                DpoObjective.sequenceLogProbs(model, data, batch, 0);
                long before = backend.hostTransfers();
                DpoObjective.sequenceLogProbs(model, data, batch, 0);
                long forward = backend.hostTransfers() - before;
                before = backend.hostTransfers();
                objective.lossSum(batch);
                assertEquals(forward + 1, backend.hostTransfers() - before,
                        "a micro-batch's transfers are the forward pass's inputs and the reference upload, no read");
            }
        }
    }

    /** TRL's metrics, means over the pairs, in double. */
    private static Map<String, Double> hostMetrics(List<DpoTrainer.PairLogProbs> pairs) {
        double chosen = 0;
        double rejected = 0;
        double correct = 0;
        double logpsChosen = 0;
        double logpsRejected = 0;
        for (DpoTrainer.PairLogProbs p : pairs) {
            double c = BETA * (p.policyChosen() - p.referenceChosen());
            double r = BETA * (p.policyRejected() - p.referenceRejected());
            chosen += c;
            rejected += r;
            correct += c > r ? 1 : 0;
            logpsChosen += p.policyChosen();
            logpsRejected += p.policyRejected();
        }
        int n = pairs.size();
        return Map.of("rewards/chosen", chosen / n, "rewards/rejected", rejected / n,
                "rewards/margins", (chosen - rejected) / n, "rewards/accuracies", correct / n,
                "logps/chosen", logpsChosen / n, "logps/rejected", logpsRejected / n);
    }

    private static void assertMetrics(Map<String, Double> expected, Map<String, Double> actual, String where) {
        assertEquals(expected.keySet(), actual.keySet(), where);
        System.out.println(where + ": expected " + expected + ", got " + actual);
        // float32 sums of log-probabilities near -20 agree to a few ulps (1e-6), and rewards are 0.1 of them;
        // seen: 1e-9 against our own log-probabilities, 7e-8 against PyTorch's
        // the policy's summed log-probabilities, near -20, agree to a few float32 ulps of them
        expected.forEach((name, value) -> assertEquals(value, actual.get(name),
                name.equals("rewards/accuracies") ? 1e-12 : name.startsWith("logps/") ? 1e-5 : 1e-6, where + " " + name));
    }

    private static PreferenceDataset pairs(JsonNode fixture) {
        return PreferenceDataset.of(TrainTestSupport.dpoPairs(fixture));
    }
}
