package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GRPO's loss, every metric, the advantages and the gradient of every LoRA tensor for one step of FIXED completions
 * and rewards (two prompts, four completions each, one micro-batch per prompt) against tools/reference/grpo_torch.py:
 * TRL's GRPOTrainer formulas in torch on the llama fixture's base model (the reference) and LoRA adapter (the
 * policy), whose log-probabilities that script first checks against transformers + PEFT. Covers every loss type with
 * beta 0 and beta > 0, batch and no reward scaling, an EOS inside a completion (what follows is masked) and
 * mask_truncated_completions; and with num_iterations 2 the SECOND step of a generation: the old log-probabilities are
 * taken when the rollouts are prepared, then the LoRA tensors move (to the script's grpo_iteration_weights) and the
 * ratio against the generating policy leaves the clipping range on both sides.
 */
class GrpoFixtureTest {
    private static final JsonNode FIXTURE = TrainTestSupport.json(TrainTestSupport.resource("llama/grpo.json"));
    private static final Map<String, float[]> GRADIENTS =
            TrainTestSupport.floats(TrainTestSupport.resource("llama/grpo_grads.safetensors"));
    private static final Map<String, float[]> MOVED_WEIGHTS =
            TrainTestSupport.floats(TrainTestSupport.resource("llama/grpo_iteration_weights.safetensors"));

    /** The fixture's cases. */
    static final List<String> CASES = List.of("grpo_beta0", "bnpo_beta0", "dr_grpo_beta0", "dapo_beta0", "grpo_beta0.04",
            "bnpo_beta0.04", "dr_grpo_beta0.04", "dapo_beta0.04", "dapo_batch_scaled_masked", "dr_grpo_unscaled",
            "dapo_beta0.04_mu2_clipped", "grpo_beta0_mu2_clipped");

    @ParameterizedTest
    @FieldSource("CASES")
    void lossMetricsAdvantagesAndGradientsMatchTorch(String name) {
        check(name, Device.cpu());
    }

    /** Case {@code name} with the model on {@code device} (TrainingOnCudaTest runs it on a GPU). */
    static void check(String name, Device device) {
        JsonNode fixtureCase = FIXTURE.get("cases").get(name);
        GrpoConfig cfg = config(fixtureCase.get("config"));
        int g = cfg.numGenerations();
        List<RewardFunction> rewards = new ArrayList<>();
        for (JsonNode n : FIXTURE.get("reward_names")) {
            rewards.add(RewardFunction.named(n.asText(), (p, c) -> {
                throw new AssertionError("the scores are fixed");
            }));
        }
        double[][] scores = doubles2d(FIXTURE.get("scores"));
        assertAdvantages(name, fixtureCase.get("advantages"), GrpoAdvantages.of(scores, cfg, g).advantages());
        List<GrpoExample> prompts = new ArrayList<>();
        for (JsonNode p : FIXTURE.get("prompts")) {
            prompts.add(new GrpoExample(longs(p), ""));
        }
        GrpoDataset data = GrpoDataset.of(prompts);
        List<int[]> microBatches = new ArrayList<>();
        List<long[][]> completions = new ArrayList<>();
        List<double[][]> microScores = new ArrayList<>();
        for (JsonNode mb : FIXTURE.get("micro_batches")) {
            int[] indices = new int[mb.size()];
            long[][] c = new long[mb.size() * g][];
            double[][] s = new double[scores.length][c.length];
            for (int k = 0; k < indices.length; k++) {
                indices[k] = mb.get(k).asInt();
                for (int j = 0; j < g; j++) {
                    int at = indices[k] * g + j;
                    c[k * g + j] = longs(FIXTURE.get("completions").get(at));
                    for (int f = 0; f < scores.length; f++) {
                        s[f][k * g + j] = scores[f][at];
                    }
                }
            }
            microBatches.add(indices);
            completions.add(c);
            microScores.add(s);
        }
        long completionsInStep = (long) data.size() * g;
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"),
                LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/lora"));
            model.train(true); // the loop's mode for GRPO (the fixture's adapter has no dropout)
            long pad = FIXTURE.get("pad_token_id").asLong();
            GrpoSampler sampler = new GrpoSampler(model, data, cfg, rewards, null,
                    Set.of(FIXTURE.get("eos_token_id").asLong()), 0);
            GrpoObjective objective = new GrpoObjective(model, data, cfg, rewards, sampler, pad);
            objective.prepare(microBatches, completions, microScores);
            if (cfg.numIterations() > 1) { // the first step's update, after the generation: the script's plain step
                model.trainableParameters().forEach((tensor, p) -> p.copyFrom(MOVED_WEIGHTS.get(name + "/" + tensor)));
            }
            double loss = 0;
            Map<String, Double> sums = new HashMap<>();
            for (int[] mb : microBatches) {
                assertEquals((long) mb.length * g, objective.weight(mb));
                try (var scope = TensorScope.open()) {
                    Objective.Loss l = objective.lossSum(mb);
                    // the loop's scaling: the sum over the step's weight (its completions)
                    Tensor scaled = Elementwise.scale(l.sum(), 1f / completionsInStep);
                    loss += scaled.toFloatArray()[0];
                    l.metricSums().forEach((k, v) -> {
                        assertTrue(!v.requiresGrad(), k + " must not record autograd");
                        sums.merge(k, (double) v.toFloatArray()[0], Double::sum);
                    });
                    Autograd.backward(scaled);
                }
            }
            double expectedLoss = fixtureCase.get("loss").asDouble();
            System.out.printf("%s on %s: loss %.8f, torch %.8f%n", name, device, loss, expectedLoss);
            assertEquals(expectedLoss, loss, 2e-6 * Math.max(1, Math.abs(expectedLoss)), name + " loss");
            Map<String, Double> metrics = new HashMap<>(objective.metrics(sums, completionsInStep));
            metrics.putAll(objective.preparationMetrics()); // the loop's report of the step that generated
            assertMetrics(name, fixtureCase.get("metrics"), metrics);
            if (fixtureCase.get("gradients").asBoolean()) {
                TrainTestSupport.assertGradients(name, model.trainableParameters(), GRADIENTS);
            }
        }
    }

    private static GrpoConfig config(JsonNode c) {
        List<Double> weights = new ArrayList<>();
        FIXTURE.get("reward_weights").forEach(w -> weights.add(w.asDouble()));
        return GrpoConfig.builder().numGenerations(FIXTURE.get("num_generations").asInt())
                .maxCompletionLength(FIXTURE.get("max_completion_length").asInt())
                .beta(c.get("beta").asDouble()).epsilon(c.get("epsilon").asDouble())
                .epsilonHigh(c.get("epsilon_high").asDouble())
                .lossType(GrpoLossType.valueOf(c.get("loss_type").asText().toUpperCase(Locale.ROOT)))
                .scaleRewards(GrpoConfig.ScaleRewards.valueOf(c.get("scale_rewards").asText().toUpperCase(Locale.ROOT)))
                .maskTruncatedCompletions(c.get("mask_truncated_completions").asBoolean())
                .numIterations(c.path("num_iterations").asInt(1))
                .rewardWeights(weights).build();
    }

    private static void assertAdvantages(String name, JsonNode theirs, double[] ours) {
        assertEquals(theirs.size(), ours.length);
        for (int i = 0; i < ours.length; i++) {
            // torch forms them in float32
            assertEquals(theirs.get(i).asDouble(), ours[i], 1e-6 * Math.max(1, Math.abs(ours[i])), name + " advantage " + i);
        }
    }

    /** Every metric TRL logs, by its TRL name, and no other. */
    private static void assertMetrics(String name, JsonNode theirs, Map<String, Double> ours) {
        for (var it = theirs.fields(); it.hasNext(); ) {
            var e = it.next();
            double expected = e.getValue().asDouble();
            assertTrue(ours.containsKey(e.getKey()), name + ": metric " + e.getKey() + " is missing from " + ours.keySet());
            assertEquals(expected, ours.get(e.getKey()), 2e-6 * Math.max(1, Math.abs(expected)), name + " " + e.getKey());
        }
        assertEquals(theirs.size(), ours.size(), name + ": metrics not in TRL's log: " + ours.keySet());
    }

    private static double[][] doubles2d(JsonNode rows) {
        double[][] out = new double[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new double[rows.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = rows.get(i).get(j).asDouble();
            }
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
