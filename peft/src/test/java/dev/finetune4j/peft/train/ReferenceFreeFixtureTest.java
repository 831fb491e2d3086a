package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ORPO's and SimPO's loss, every metric and the gradient of every LoRA tensor for one micro-batch of four pairs
 * (padded to one length) against tools/reference/orpo_simpo_torch.py: TRL's formulas in torch on the llama fixture's
 * base model and LoRA adapter, whose log-probabilities that script first checks against transformers + PEFT.
 */
class ReferenceFreeFixtureTest {
    private static final JsonNode FIXTURE = TrainTestSupport.json(TrainTestSupport.resource("llama/reference_free.json"));
    private static final Map<String, float[]> GRADIENTS =
            TrainTestSupport.floats(TrainTestSupport.resource("llama/reference_free_grads.safetensors"));

    @ParameterizedTest
    @ValueSource(strings = {"orpo_beta0.1", "orpo_beta0.5", "simpo_trl_defaults", "simpo_paper_smoothed"})
    void lossMetricsAndGradientsMatchTorch(String name) {
        JsonNode fixtureCase = FIXTURE.get("cases").get(name);
        int n = FIXTURE.get("pairs").asInt();
        List<PreferenceExample> pairs = TrainTestSupport.dpoPairs(TrainTestSupport.json(
                TrainTestSupport.resource("llama/dpo.json"))).subList(0, n);
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/lora"));
            model.train(false);
            ReferenceFreeObjective objective = new ReferenceFreeObjective(model, PreferenceDataset.of(pairs),
                    config(fixtureCase.get("config")), FIXTURE.get("pad_token_id").asLong());
            Map<String, Double> metrics = new HashMap<>();
            double loss;
            try (var scope = TensorScope.open()) {
                Objective.Loss l = objective.lossSum(IntStream.range(0, n).toArray());
                // the loop's scaling: the sum over the step's weight (one micro-batch: its n pairs)
                Tensor mean = Elementwise.scale(l.sum(), 1f / n);
                loss = mean.toFloatArray()[0];
                l.metricSums().forEach((k, v) -> {
                    assertTrue(!v.requiresGrad(), k + " must not record autograd");
                    metrics.put(k, v.toFloatArray()[0] / (double) n);
                });
                Autograd.backward(mean);
            }
            double expectedLoss = fixtureCase.get("loss").asDouble();
            System.out.printf("%s: loss %.7f, torch %.7f%n", name, loss, expectedLoss);
            assertEquals(expectedLoss, loss, 2e-6 * Math.max(1, Math.abs(expectedLoss)), name + " loss");
            assertMetrics(name, fixtureCase.get("metrics"), metrics);
            TrainTestSupport.assertGradients(name, model.trainableParameters(), GRADIENTS);
        }
    }

    private static ReferenceFreeConfig config(JsonNode c) {
        return c.get("method").asText().equals("orpo") ? new OrpoConfig(c.get("beta").asDouble())
                : new SimpoConfig(c.get("beta").asDouble(), c.get("simpo_gamma").asDouble(),
                c.get("cpo_alpha").asDouble(), c.get("label_smoothing").asDouble());
    }

    /** Every metric TRL logs, by its TRL name; nll_loss is absent (TRL: 0) when SimPO's cpo_alpha is 0. */
    private static void assertMetrics(String name, JsonNode theirs, Map<String, Double> ours) {
        int compared = 0;
        for (var it = theirs.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = e.getKey().equals("rewards/accuracies") ? "rewards/accuracies" : e.getKey();
            double expected = e.getValue().asDouble();
            if (key.equals("nll_loss") && !ours.containsKey(key)) {
                assertEquals(0.0, expected, name + ": TRL's nll_loss is 0 when cpo_alpha is 0");
                continue;
            }
            assertTrue(ours.containsKey(key), name + ": metric " + key + " is missing from " + ours.keySet());
            assertEquals(expected, ours.get(key), 2e-6 * Math.max(1, Math.abs(expected)), name + " " + key);
            compared++;
        }
        assertEquals(compared, ours.size(), name + ": metrics not in TRL's log: " + ours.keySet());
    }
}
