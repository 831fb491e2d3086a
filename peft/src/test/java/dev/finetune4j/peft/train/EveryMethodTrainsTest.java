package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.adapter.BottleneckConfig;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every PEFT method x every objective (SFT, DPO, ORPO, SimPO, KTO) on a tiny random LLaMA: a few training steps with
 * validation lower the loss and move every trainable tensor; then each tensor's gradient of the objective agrees with
 * central finite differences of the loss along two directions (the gradient's own, which catches a wrong scale or sign or
 * a zero gradient, and a random one, which catches a missing part); the logits line up with the input ids, and
 * generation runs.
 *
 * <p>The gradient check runs after training so that zero-initialised parts (LoRA's B, an adapter's up projection)
 * have moved and every gradient is generically non-zero: at initialisation a Houlsby adapter's down projection has
 * an exactly zero gradient, which a broken backward would also give.
 */
class EveryMethodTrainsTest {
    private static final int VOCAB = 64;
    private static final int STEPS = 12;
    /** Finite-difference step along a unit direction. */
    private static final double H = 1e-2;

    enum Method {
        LORA(b -> Peft.wrap(b, lora().build())),
        DORA(b -> Peft.wrap(b, lora().useDora(true).build())),
        QLORA(b -> QloraInjector.wrap(b, lora().build())),
        QDORA(b -> QloraInjector.wrap(b, lora().useDora(true).build())),
        IA3(b -> Peft.wrap(b, Ia3Config.of(List.of("k_proj", "v_proj", "down_proj"), List.of("down_proj")))),
        PREFIX(b -> Peft.wrap(b, PrefixTuningConfig.of(3))),
        PREFIX_PROJECTION(b -> Peft.wrap(b, new PrefixTuningConfig(3, true, 16, "CAUSAL_LM"))),
        PROMPT(b -> Peft.wrap(b, PromptTuningConfig.of(3))),
        // a smooth activation: finite differences across ReLU's kink would not measure the gradient
        HOULSBY(b -> Peft.wrap(b, new BottleneckConfig(BottleneckConfig.Placement.HOULSBY, 4, Activations.Kind.GELU_EXACT, null))),
        PFEIFFER(b -> Peft.wrap(b, new BottleneckConfig(BottleneckConfig.Placement.PFEIFFER, 4, Activations.Kind.GELU_EXACT, null))),
        FREEZE(b -> Peft.wrap(b, new FreezeConfig(1, null, null)));

        final Function<LanguageModel, PeftModel> wrap;

        Method(Function<LanguageModel, PeftModel> wrap) {
            this.wrap = wrap;
        }

        private static LoraConfig.Builder lora() {
            return LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "down_proj").loraDropout(0);
        }
    }

    /**
     * The objectives, each with its toy data (seed 1 for training, seed 2 for validation) and a setting under which a
     * few steps at these rates visibly lower its loss.
     */
    enum Goal {
        SFT, DPO, ORPO,
        /** SimPO as published (no NLL term): the preference loss alone must fall. */
        SIMPO, KTO;

        /** KTO with DPO's beta here: a strong enough pull for 12 steps on random data. */
        private static final KtoConfig KTO_CONFIG = new KtoConfig(1.0, 1.0, 1.0);

        /** Trains {@code model} as {@code cfg} says, with validation data when it evaluates. */
        TrainResult train(PeftModel model, TrainingConfig cfg) {
            boolean eval = cfg.evalEverySteps() > 0;
            return switch (this) {
                case SFT -> {
                    SftTrainer.Builder b = SftTrainer.builder().model(model).config(cfg).trainData(sftData(1));
                    yield (eval ? b.evalData(sftData(2)) : b).build().train();
                }
                case DPO -> {
                    DpoTrainer.Builder b = DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(1.0))
                            .trainData(pairs(1));
                    yield (eval ? b.evalData(pairs(2)) : b).build().train();
                }
                case ORPO, SIMPO -> {
                    ReferenceFreeTrainer.Builder b = ReferenceFreeTrainer.builder().model(model).config(cfg)
                            .loss(referenceFree()).trainData(pairs(1));
                    yield (eval ? b.evalData(pairs(2)) : b).build().train();
                }
                case KTO -> {
                    KtoTrainer.Builder b = KtoTrainer.builder().model(model).config(cfg).kto(KTO_CONFIG)
                            .trainData(ktoRows(1));
                    yield (eval ? b.evalData(ktoRows(2)) : b).build().train();
                }
            };
        }

        /**
         * The objective over the training data, the policy as it is now being the reference. KTO's KL estimate is
         * detached, so its gradient treats the estimate as a constant: the objective returned holds it at its value
         * for the current weights, which finite differences then see as well.
         */
        Objective objective(PeftModel model) {
            return switch (this) {
                case SFT -> new SftObjective(model, sftData(1), 0);
                case DPO -> new DpoObjective(model, pairs(1), DpoConfig.sigmoid(1.0), 0);
                case ORPO, SIMPO -> new ReferenceFreeObjective(model, pairs(1), referenceFree(), 0);
                case KTO -> withFixedKl(new KtoObjective(model, ktoRows(1), KTO_CONFIG, 0, 3));
            };
        }

        private ReferenceFreeConfig referenceFree() {
            return this == ORPO ? new OrpoConfig(0.5) : new SimpoConfig(2.0, 0.5, 0, 0);
        }
    }
    /** {@code kto} with its KL estimate over all rows fixed at its value now. */
    private static Objective withFixedKl(KtoObjective kto) {
        int[] all = IntStream.range(0, kto.size()).toArray();
        float kl;
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            KtoObjective.Inputs in = kto.inputs(all);
            kl = KtoLoss.klEstimate(in.policyKl(), in.referenceKl()).toFloatArray()[0];
        }
        return new Objective() {
            @Override
            public int size() {
                return kto.size();
            }

            @Override
            public long fingerprint() {
                return kto.fingerprint();
            }

            @Override
            public long weight(int[] indices) {
                return kto.weight(indices);
            }

            @Override
            public Loss lossSum(int[] indices) {
                return kto.loss(kto.inputs(indices), Tensor.of(new float[]{kl}, 1));
            }
        };
    }

    static Stream<Arguments> matrix() {
        return Arrays.stream(Method.values()).flatMap(m -> Arrays.stream(Goal.values()).map(g -> Arguments.of(m, g)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("matrix")
    void trainsEvaluatesAndGenerates(Method method, Goal goal) {
        try (LanguageModel base = tinyLlama()) {
            PeftModel model = method.wrap.apply(base);
            Map<String, float[]> initial = values(model.trainableParameters());
            // prompt tuning moves N(0, 1) rows and is usually trained at rates near 0.1 to 0.3; IA3 only rescales
            // activations, and ORPO's NLL also reads the random prompts: at 1e-2 it falls by 2% in 12 steps, not more
            double lr = method == Method.PROMPT ? 0.1 : method == Method.IA3 && goal == Goal.ORPO ? 3e-2 : 1e-2;
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(3).learningRate(lr)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(1).evalEverySteps(STEPS / 2).logEverySteps(0).build();
            TrainResult result = goal.train(model, cfg);
            List<Double> losses = result.lossHistory();
            assertEquals(STEPS, losses.size());
            assertEquals(0, result.skippedSteps());
            // two steps per epoch over different examples: compare the first epoch with the last
            double first = losses.get(0) + losses.get(1);
            double last = losses.get(STEPS - 2) + losses.get(STEPS - 1);
            assertTrue(last < 0.98 * first, method + " " + goal + ": loss " + losses);
            assertEquals(2, result.evalHistory().size());
            assertTrue(Double.isFinite(result.evalHistory().getLast().loss()));
            Map<String, float[]> trained = values(model.trainableParameters());
            initial.forEach((name, before) -> assertTrue(!Arrays.equals(before, trained.get(name)),
                    method + " " + goal + ": training did not change " + name));

            assertGradientsMatchFiniteDifferences(method + " " + goal, method == Method.DORA || method == Method.QDORA,
                    TrainedModel.of(model), goal.objective(model));

            long[][] ids = {{5, 9, 13, 17, 21, 25}};
            assertEquals(ids[0].length, model.logits(ids, null)[0].length, "one logit row per input token");
            boolean virtual = method == Method.PROMPT || method == Method.PREFIX || method == Method.PREFIX_PROJECTION;
            assertEquals(virtual ? 29 : 32, model.maxPositionEmbeddings(), "3 virtual tokens take positions");
            long[] out = Generator.generate(model, ids[0], GenerationConfig.greedy(4));
            assertEquals(ids[0].length + 4, out.length);
        }
    }

    /**
     * Each trainable tensor's gradient of {@code objective} against central finite differences along its own
     * direction and a random one; with {@code detachedNorm} (DoRA) A's and B's gradients need only descend.
     */
    static void assertGradientsMatchFiniteDifferences(String method, boolean detachedNorm, TrainedModel model,
                                                      Objective objective) {
        model.train(false);
        int[] all = IntStream.range(0, objective.size()).toArray();
        double weight = objective.weight(all);
        Map<String, Tensor> params = model.trainableParameters();
        Map<String, float[]> before = gradients(params);
        try (var scope = TensorScope.open()) {
            Autograd.backward(objective.lossSum(all).sum());
        }
        Map<String, float[]> after = gradients(params);
        SplittableRandom random = new SplittableRandom(7);
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            float[] g = after.get(e.getKey());
            double[] grad = new double[g.length];
            float[] g0 = before.get(e.getKey());
            for (int i = 0; i < g.length; i++) {
                grad[i] = (g[i] - (g0 == null ? 0 : g0[i])) / weight;
            }
            double norm = Math.sqrt(dot(grad, grad));
            assertTrue(norm > 1e-6, method + ": zero gradient for " + e.getKey());
            double[] along = grad.clone();
            for (int i = 0; i < along.length; i++) {
                along[i] /= norm;
            }
            double[] randomDir = new double[grad.length];
            for (int i = 0; i < randomDir.length; i++) {
                randomDir[i] = random.nextDouble() - 0.5;
            }
            double rn = Math.sqrt(dot(randomDir, randomDir));
            for (int i = 0; i < randomDir.length; i++) {
                randomDir[i] /= rn;
            }
            if (detachedNorm && !e.getKey().contains("magnitude")) {
                // NOTE: DoRA detaches the weight norm (Liu et al. 2024, section 4.3; PEFT does too), so A's and B's
                // gradients are not the loss's: they must still be a descent direction of it
                double numeric = directional(objective, all, weight, e.getValue(), along);
                assertTrue(numeric > 0.5 * norm, method + ": " + e.getKey() + " slope " + numeric + " along a gradient of norm " + norm);
                continue;
            }
            for (double[] dir : List.of(along, randomDir)) {
                double analytic = dot(grad, dir);
                double numeric = directional(objective, all, weight, e.getValue(), dir);
                double tolerance = 0.05 * norm + 2e-4;
                assertEquals(numeric, analytic, tolerance, method + ": directional derivative of " + e.getKey()
                        + " (gradient norm " + norm + ")");
            }
        }
    }

    /** Central difference of the mean loss along unit direction {@code dir} of tensor {@code t}. */
    private static double directional(Objective objective, int[] all, double weight, Tensor t, double[] dir) {
        return (loss(objective, all, weight, t, dir, H) - loss(objective, all, weight, t, dir, -H)) / (2 * H);
    }

    /** The mean loss with {@code t} moved by {@code step * dir}, restored afterwards. */
    private static double loss(Objective objective, int[] all, double weight, Tensor t, double[] dir, double step) {
        float[] saved = t.toFloatArray();
        for (int i = 0; i < saved.length; i++) {
            t.setFlat(i, (float) (saved[i] + step * dir[i]));
        }
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            return objective.lossSum(all).sum().getFlat(0) / weight;
        } finally {
            for (int i = 0; i < saved.length; i++) {
                t.setFlat(i, saved[i]);
            }
        }
    }

    /** Each tensor's accumulated gradient, null before its first backward. */
    static Map<String, float[]> gradients(Map<String, Tensor> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((n, t) -> out.put(n, t.grad() == null ? null : t.grad().toFloatArray()));
        return out;
    }

    private static Map<String, float[]> values(Map<String, Tensor> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((n, t) -> out.put(n, t.toFloatArray()));
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Six sequences of 8 to 10 tokens; the first three tokens are the prompt (label -100). */
    static TokenizedDataset sftData(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TokenizedExample> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            long[] ids = random.longs(8 + i % 3, 1, VOCAB).toArray();
            long[] labels = ids.clone();
            Arrays.fill(labels, 0, 3, -100);
            rows.add(new TokenizedExample(ids, labels, null));
        }
        return TokenizedDataset.of(rows);
    }

    static PreferenceDataset pairs(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<PreferenceExample> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            out.add(new PreferenceExample(random.longs(3, 1, VOCAB).toArray(), random.longs(3 + i % 2, 1, VOCAB).toArray(),
                    random.longs(4, 1, VOCAB).toArray()));
        }
        return PreferenceDataset.of(out);
    }

    /** Six unpaired rows: prompts of 3 tokens, completions of 3 or 4, desirable and undesirable in turn. */
    static KtoDataset ktoRows(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<KtoExample> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            out.add(new KtoExample(random.longs(3, 1, VOCAB).toArray(), random.longs(3 + i % 2, 1, VOCAB).toArray(),
                    i % 2 == 0));
        }
        return KtoDataset.of(out);
    }

    /** Vocabulary 64, hidden 32, 32 positions. */
    static LanguageModel tinyLlama() {
        return TrainTestSupport.tinyLlama(VOCAB, 32, 32);
    }
}
