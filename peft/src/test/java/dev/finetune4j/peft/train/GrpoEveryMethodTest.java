package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GRPO with every PEFT method ({@link EveryMethodTrainsTest.Method}) on the tiny random LLaMA: a few steps in float32
 * and under bf16 mixed precision skip nothing, move every trainable tensor and keep float32 masters (bf16 changes
 * the run); then, on fixed completions, each tensor's gradient of the GRPO loss agrees with central finite differences.
 * GRPO's loss does not fall as SFT's does (its value is 0 when the advantages sum to 0), so it has its own test.
 *
 * <p>With one iteration per generation the loss's value does not depend on the weights through its ratio (always 1),
 * only its gradient does: by the policy-gradient identity that gradient is the one of
 * {@code F = -Σ w A p + β Σ w k3}, whose value moves with the weights. The finite differences are taken of the loss's
 * value plus the first term of F (the second is in the value already), read from the model's log-probabilities.
 */
class GrpoEveryMethodTest {
    private static final int STEPS = 4;
    /** Control characters: random ids below 64 decode to bytes, about half of them below 32. */
    private static final RewardFunction CONTROL = RewardFunction.named("control", (prompt, completion) ->
            completion.chars().filter(c -> c < 32).count() / (double) Math.max(1, completion.length()));
    private static final GrpoConfig GRPO = GrpoConfig.builder().numGenerations(3).maxCompletionLength(4).beta(0.1)
            .lossType(GrpoLossType.GRPO).build();

    @ParameterizedTest
    @EnumSource(EveryMethodTrainsTest.Method.class)
    void trainsInBothPrecisionsAndItsGradientsMatchFiniteDifferences(EveryMethodTrainsTest.Method method) {
        Map<String, float[]> mixed;
        try (LanguageModel base = EveryMethodTrainsTest.tinyLlama()) {
            mixed = train(method, method.wrap.apply(base), Precision.BF16_MIXED);
        }
        try (LanguageModel base = EveryMethodTrainsTest.tinyLlama()) {
            PeftModel model = method.wrap.apply(base);
            Map<String, float[]> f32 = train(method, model, Precision.F32);
            assertTrue(f32.keySet().stream().anyMatch(n -> !Arrays.equals(f32.get(n), mixed.get(n))),
                    method + ": bf16 rounding must change the run");
            GrpoObjective objective = objective(model);
            int[] all = IntStream.range(0, objective.size()).toArray();
            objective.prepareStep(0, List.of(all), StepShare.alone(1));
            EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences(method + " GRPO",
                    method == EveryMethodTrainsTest.Method.DORA || method == EveryMethodTrainsTest.Method.QDORA,
                    TrainedModel.of(model), withPolicyGradientValue(model, objective));
        }
    }

    /** {@link #STEPS} GRPO steps under {@code precision}; the trained weights. */
    private static Map<String, float[]> train(EveryMethodTrainsTest.Method method, PeftModel model, Precision precision) {
        Map<String, float[]> initial = TrainTestSupport.weights(model);
        double lr = method == EveryMethodTrainsTest.Method.PROMPT ? 0.1 : 1e-2;
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(3).learningRate(lr)
                .schedule(Schedule.CONSTANT).seed(1).logEverySteps(0).precision(precision).build();
        List<StepMetrics> steps = new ArrayList<>();
        TrainResult result = GrpoTrainer.builder().model(model).tokenizer(new ByteLevelTokenizer()).config(cfg).grpo(GRPO)
                .reward(CONTROL).trainData(prompts()).listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        steps.add(m);
                    }
                }).build().train();
        assertEquals(0, result.skippedSteps(), method + " " + precision);
        steps.forEach(s -> s.extra().forEach((name, v) -> assertTrue(Double.isFinite(v), method + " " + name + " " + v)));
        Map<String, float[]> trained = TrainTestSupport.weights(model);
        initial.forEach((name, before) -> assertTrue(!Arrays.equals(before, trained.get(name)),
                method + " " + precision + ": GRPO did not change " + name));
        for (Tensor p : model.trainableParameters().values()) {
            assertEquals(DType.F32, p.dtype(), method + ": a trainable master stays float32");
        }
        return trained;
    }

    private static GrpoObjective objective(PeftModel model) {
        List<RewardFunction> rewards = List.of(CONTROL);
        GrpoDataset data = prompts();
        return new GrpoObjective(model, data, GRPO, rewards, new GrpoSampler(model, data, GRPO, rewards,
                new ByteLevelTokenizer(), Set.of(), 5), 0);
    }

    /**
     * {@code grpo} (its completions prepared for all prompts in one micro-batch) whose loss value also holds
     * {@code -Σ w A p} at the current weights, a constant to autograd: the gradient stays GRPO's, and the value's
     * finite differences are F's.
     */
    private static Objective withPolicyGradientValue(PeftModel model, GrpoObjective grpo) {
        return new Objective() {
            @Override
            public int size() {
                return grpo.size();
            }

            @Override
            public long fingerprint() {
                return grpo.fingerprint();
            }

            @Override
            public long weight(int[] indices) {
                return grpo.weight(indices);
            }

            @Override
            public Loss lossSum(int[] indices) {
                Loss l = grpo.lossSum(indices);
                Tensor value = Tensor.of(l.sum().device(), TensorScope.current(),
                        new float[]{(float) policyGradientTerm(model, grpo, indices)}, Shape.of(1));
                return new Loss(Elementwise.add(l.sum(), value), l.tokens(), l.metricSums());
            }
        };
    }

    /** {@code -Σ w A p} over the loss tokens of the micro-batch's completions, from the model's log-probabilities. */
    private static double policyGradientTerm(PeftModel model, GrpoObjective grpo, int[] indices) {
        GrpoObjective.Rollout r = grpo.rollout(indices);
        Batch batch = grpo.batch(r);
        float[] logps;
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            logps = SequenceLogProbs.perToken(model, batch).toFloatArray();
        }
        double sum = 0;
        for (int i = 0; i < logps.length; i++) {
            int c = i / batch.length();
            if (batch.targets()[i] != CrossEntropy.IGNORE_INDEX) {
                sum -= r.tokenWeights()[c] * r.advantages()[c] * logps[i];
            }
        }
        return sum;
    }

    /** Three prompts of 3 random ids below 64. */
    private static GrpoDataset prompts() {
        SplittableRandom random = new SplittableRandom(4);
        List<GrpoExample> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(new GrpoExample(random.longs(3, 1, 64).toArray(), "prompt " + i));
        }
        return GrpoDataset.of(rows);
    }
}
