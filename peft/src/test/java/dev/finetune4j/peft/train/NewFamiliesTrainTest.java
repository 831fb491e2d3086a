package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.RecurrentConstants;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA with PEFT's default target modules trains tiny random Gemma 2 (sliding window, both soft caps, four norms
 * per layer), Gemma 3 (q/k norms, a local and a global rotary table), Phi-3 (fused qkv_proj and gate_up_proj,
 * partial rotary, longrope past its pretrained length, a sliding window), Granite 3 (its four multipliers; its
 * mixtures of stacked experts, with and without a shared MLP) and 4
 * (a fused shared MLP, no position encoding; its H model with a Mamba-2 layer), OLMo 2
 * and 3 (norms after the sub-blocks, q/k norms across heads, OLMo 3's window), SmolLM3 (a layer without rotary),
 * GLM and GLM-4 (half of each head rotated in adjacent pairs; GLM-4's four norms), ERNIE 4.5 (biases everywhere),
 * Cohere and Cohere 2 (parallel sub-blocks under LayerNorms, scaled logits, a layer without rotary), EXAONE 4 (norms
 * after the sub-blocks, q/k norms, a layer without rotary), Seed-OSS (q/k/v and o biases apart), Hunyuan (q/k norms
 * after the rotary, its alpha base), StarCoder2 (biased LayerNorms, an MLP without a gate, a window) and Arcee (an MLP
 * of squared ReLUs), Apertus (xIELU with learned scalars, frozen under LoRA), LFM2 (a gated short convolution without SiLU beside attention) and the mixtures of experts Mixtral, Qwen2-MoE (a shared expert, a dense layer), Qwen3-MoE, OLMoE (q/k norms
 * across heads) and gpt-oss (attention sinks, clamped stacked experts), and Qwen3.5 and Qwen3.5-MoE (a gated DeltaNet
 * layer beside a gated attention layer), and Gemma 4 (full layers with heads of their own whose keys are their values,
 * kv-shared layers, double-wide MLPs, per-layer inputs; its mixture of experts beside the MLP): the
 * loss falls and every adapter tensor's gradient agrees with finite differences, which a wrong backward through any of
 * those parts would break.
 */
class NewFamiliesTrainTest {
    private static final int VOCAB = 64;
    private static final int STEPS = 12;

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3_text", "phi3", "granite", "granitemoe", "granitemoeshared",
            "granitemoehybrid", "granite4_h", "granite4_h_moe", "olmo2", "olmo3", "smollm3", "glm", "glm4", "ernie4_5",
            "cohere", "cohere2", "exaone4", "seed_oss", "hunyuan_v1_dense", "starcoder2", "arcee", "apertus", "lfm2",
            "lfm2_moe", "glm4_moe", "ernie4_5_moe", "deepseek_v3", "deepseek_v2", "qwen3_next", "mixtral", "qwen2_moe",
            "qwen3_moe", "olmoe", "gpt_oss", "qwen3_5_text", "qwen3_5_moe_text", "falcon_h1",
            "ministral3", "ministral",
            "mistral4",
            "nemotron_h", "nemotron_h_moe",
            "gemma4_text", "gemma4_text_moe"})
    void loraTrainsAndItsGradientsMatchFiniteDifferences(String type) {
        try (LanguageModel base = tiny(type)) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0).build());
            assertEquals(switch (type) {
                case "phi3" -> List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj");
                // layer 0 is linear attention
                case "qwen3_5_text", "qwen3_5_moe_text" -> List.of("in_proj_qkv", "q_proj", "v_proj");
                case "qwen3_next" -> List.of("in_proj_qkvz", "q_proj", "v_proj");
                // layer 0 is Mamba-2
                case "granite4_h", "granite4_h_moe", "lfm2", "lfm2_moe" -> List.of("in_proj", "q_proj", "v_proj");
                // every layer runs a Mamba-2 mixer beside its attention
                case "falcon_h1" -> List.of("q_proj", "v_proj", "in_proj");
                // PEFT's default: the attention layer's four projections (the Mamba-2 and MLP layers keep none)
                case "nemotron_h", "nemotron_h_moe" -> List.of("q_proj", "k_proj", "v_proj", "o_proj");
                // latent attention: the queries' second projection and the keys' and values' expansion
                case "deepseek_v3", "mistral4" -> List.of("q_b_proj", "kv_b_proj");
                case "deepseek_v2" -> List.of("q_proj", "kv_b_proj");
                default -> List.of("q_proj", "v_proj");
            }, targetedModules(model), type + ": the default targets");
            assertTrainsAndMatchesFiniteDifferences(type, model, 1e-2, false);
        }
    }

    /**
     * LoRA on every projection of a mixture of experts, each expert's included (and Qwen2-MoE's and Nemotron-H's shared
     * expert, their dense layers): the gradients reach the experts through the routing weights, and agree with finite
     * differences.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "nemotron_h_moe"})
    void loraOnTheExpertsTrainsThroughTheRouting(String type) {
        List<String> mlp = switch (type) {
            case "mixtral" -> List.of("w1", "w2", "w3");
            case "nemotron_h_moe" -> List.of("up_proj", "down_proj"); // no gate
            default -> List.of("gate_proj", "up_proj", "down_proj");
        };
        try (LanguageModel base = tiny(type)) {
            LoraConfig lora = LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                    .targetModules(Stream.concat(Stream.of("q_proj", "o_proj"), mlp.stream()).toArray(String[]::new))
                    .build();
            PeftModel model = Peft.wrap(base, lora);
            long expertAdapters = model.trainableParameters().keySet().stream()
                    .filter(n -> n.contains(".experts.") && n.contains("lora_A")).count();
            // Qwen2-MoE's layer 1 is dense (mlp_only_layers); Nemotron-H's one E layer among M and *
            int sparseLayers = type.equals("mixtral") ? 2 : 1;
            assertEquals(sparseLayers * 4L * mlp.size(), expertAdapters,
                    type + ": sparse layers x 4 experts x their projections");
            assertTrainsAndMatchesFiniteDifferences(type, model, 1e-2, false);
        }
    }

    /**
     * Gemma 4's mixture beside the MLP: LoRA on the attention, the dense MLP and the router's {@code proj} trains
     * through both branches and the router's norm and scales. PEFT 0.21 sees the experts as parameters, not modules:
     * naming gate_proj, up_proj and down_proj adapts the dense MLP alone.
     */
    @Test
    void gemma4LoraOnTheAttentionDenseMlpAndRouterTrainsBesideTheExperts() {
        try (LanguageModel base = tiny("gemma4_text_moe")) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                    .targetModules("q_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "proj").build());
            assertEquals(List.of("q_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "proj"), targetedModules(model));
            List<String> adapted = model.trainableParameters().keySet().stream().filter(n -> n.contains("lora_A"))
                    .toList();
            assertEquals(2 * 6, adapted.size(), "two layers of six modules: " + adapted);
            assertTrue(adapted.stream().noneMatch(n -> n.contains(".experts.")), adapted.toString());
            assertTrue(adapted.contains("base_model.model.model.layers.1.router.proj.lora_A.weight"), adapted.toString());
            assertTrainsAndMatchesFiniteDifferences("gemma4_text_moe", model, 1e-2, false);
        }
    }

    /**
     * gpt-oss with LoRA on its biased routers and attention outputs (its experts are stacked parameters, not
     * modules): the adapters' gradients reach the routers through the routing weights and the sinks' softmax.
     */
    @Test
    void gptOssLoraOnTheRoutersTrainsThroughTheRouting() {
        try (LanguageModel base = tiny("gpt_oss")) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                    .targetModules("o_proj", "router").build());
            assertEquals(List.of("o_proj", "router"), targetedModules(model));
            assertTrainsAndMatchesFiniteDifferences("gpt_oss", model, 1e-2, false);
        }
    }

    /**
     * Every other PEFT method on gpt-oss (IA3's defaults need a {@code down_proj} module, which its stacked experts
     * are not): prefixes and virtual tokens meet the sinks and the sliding window, bottleneck adapters wrap the
     * mixture; the loss falls and the gradients agree with finite differences.
     */
    @ParameterizedTest
    @EnumSource(value = EveryMethodTrainsTest.Method.class, names = {"DORA", "QLORA", "PREFIX", "PREFIX_PROJECTION",
            "PROMPT", "HOULSBY", "PFEIFFER", "FREEZE"})
    void everyMethodTrainsGptOss(EveryMethodTrainsTest.Method method) {
        try (LanguageModel base = tiny("gpt_oss")) {
            PeftModel model = method.wrap.apply(base);
            // virtual tokens and prefixes are trained at rates near 0.1 (at 1e-2 they fall by 1% in 12 steps here)
            boolean virtual = method == EveryMethodTrainsTest.Method.PROMPT || method == EveryMethodTrainsTest.Method.PREFIX;
            assertTrainsAndMatchesFiniteDifferences("gpt_oss " + method, model, virtual ? 0.1 : 1e-2,
                    method == EveryMethodTrainsTest.Method.DORA);
        }
    }

    /**
     * The other PEFT methods where the new dense families differ most: Granite's multipliers scale each adapter's
     * contribution to the residual stream and the logits; OLMo 2's norms follow the sub-blocks that prefixes, DoRA,
     * NF4 weights and bottleneck adapters change. (Prompt tuning on this tiny Granite falls by 1.4% in 12 steps at
     * rates from 0.1 to 0.3, short of the 2% asked here: its virtual tokens reach logits halved by logits_scaling. For
     * the same reason QLoRA on Granite 4.0 H falls by 1% at 1e-2: it trains at 2e-2.)
     */
    @ParameterizedTest
    @CsvSource({"granite,DORA", "granite,PREFIX_PROJECTION", "granite,PREFIX", "granite,HOULSBY", "olmo2,DORA", "olmo2,QLORA",
            "olmo2,PREFIX", "olmo2,PFEIFFER", "qwen3_5_text,DORA", "qwen3_5_text,QLORA", "qwen3_5_text,HOULSBY",
            "qwen3_5_text,PROMPT", "granite4_h,QLORA", "granite4_h,HOULSBY", "granite4_h_moe,QLORA", "falcon_h1,IA3",
            "falcon_h1,DORA", "falcon_h1,HOULSBY", "nemotron_h,DORA", "nemotron_h,PFEIFFER"})
    void otherMethodsTrainTheNewDenseFamilies(String type, EveryMethodTrainsTest.Method method) {
        try (LanguageModel base = tiny(type)) {
            PeftModel model = method.wrap.apply(base);
            boolean virtual = method == EveryMethodTrainsTest.Method.PROMPT || method == EveryMethodTrainsTest.Method.PREFIX;
            // IA3 only rescales k, v and down_proj's activations: it trains at 0.1, as the virtual tokens
            double lr = virtual || method == EveryMethodTrainsTest.Method.IA3 ? 0.1
                    : type.startsWith("granite4_h") ? 2e-2 : 1e-2;
            assertTrainsAndMatchesFiniteDifferences(type + " " + method, model, lr, method == EveryMethodTrainsTest.Method.DORA);
        }
    }

    /**
     * PEFT 0.21 refuses LoRA on a Falcon-H1 mixer's {@code out_proj} (and {@code conv1d}), so finetune4j does too, before
     * swapping anything; the attention's {@code o_proj} stays a target.
     */
    @Test
    void loraOnFalconH1sMixerOutputIsRefusedAsPeftRefusesIt() {
        try (LanguageModel base = tiny("falcon_h1")) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, LoraConfig.builder().r(4)
                    .targetModules("o_proj", "out_proj").build()));
            assertTrue(e.getMessage().contains("model.layers.0.mamba.out_proj") && e.getMessage().contains("PEFT"),
                    e.getMessage());
            PeftModel attention = Peft.wrap(base, LoraConfig.builder().r(4).targetModules("o_proj").build());
            assertEquals(List.of("o_proj"), targetedModules(attention));
        }
    }

    /**
     * Nemotron-H is Mamba-based for PEFT 0.21 too: LoRA on its Mamba-2 mixers' {@code out_proj} is refused, their
     * {@code in_proj} (and the MLP layers' projections) adapt and train.
     */
    @Test
    void loraOnNemotronHsMixerOutputIsRefusedAndItsInputTrains() {
        try (LanguageModel base = tiny("nemotron_h")) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, LoraConfig.builder().r(4)
                    .targetModules("in_proj", "out_proj").build()));
            assertTrue(e.getMessage().contains("model.layers.0.mixer.out_proj") && e.getMessage().contains("PEFT"),
                    e.getMessage());
        }
        try (LanguageModel base = tiny("nemotron_h")) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                    .targetModules("in_proj", "up_proj", "down_proj").build());
            assertEquals(List.of("in_proj", "up_proj", "down_proj"), targetedModules(model));
            assertTrainsAndMatchesFiniteDifferences("nemotron_h in_proj", model, 1e-2, false);
        }
    }

    /**
     * QLoRA stores Granite's stacked experts in NF4, as it does the linear layers, and keeps the router as stored; LoRA
     * aimed at {@code input_linear} adapts the shared MLP's linear layer, not the experts' stack of the same name, and
     * none adapts the router ({@code router.layer}), as PEFT over transformers' tree (where the stack is
     * {@code experts.gate_up_proj} and the router a bare weight).
     */
    @Test
    void qloraQuantizesGranitesStackedExpertsAndLoraSkipsThem() {
        try (LanguageModel base = tiny("granite4_h_moe")) {
            PeftModel model = QloraInjector.wrap(base, LoraConfig.builder().r(4).loraAlpha(8)
                    .targetModules("input_linear").build());
            Map<String, Tensor> weights = base.stateDict();
            assertEquals(DType.NF4, weights.get("model.layers.0.block_sparse_moe.input_linear.weight").dtype());
            assertEquals(DType.NF4, weights.get("model.layers.0.block_sparse_moe.output_linear.weight").dtype());
            assertEquals(DType.F32, weights.get("model.layers.0.block_sparse_moe.router.layer.weight").dtype());
            assertEquals(List.of("model.layers.0.shared_mlp.input_linear", "model.layers.1.shared_mlp.input_linear"),
                    model.trainableParameters().keySet().stream().filter(n -> n.contains("lora_A"))
                            .map(n -> n.substring("base_model.model.".length(), n.indexOf(".lora_A"))).toList());
        }
        try (LanguageModel base = tiny("granite4_h_moe")) {
            PeftException e = assertThrows(PeftException.class,
                    () -> Peft.wrap(base, LoraConfig.builder().r(4).targetModules("layer").build()));
            assertTrue(e.getMessage().contains("matches no module"), e.getMessage());
        }
    }

    /** Prefix tuning's keys and values have no place in a recurrent layer: refused with what to use. */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3_5_text", "granite4_h"})
    void prefixTuningRefusesRecurrentLayers(String type) {
        try (LanguageModel base = tiny(type)) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, PrefixTuningConfig.of(3)));
            assertTrue(e.getMessage().contains("recurrent layers") && e.getMessage().contains("prompt tuning"),
                    e.getMessage());
        }
    }

    /**
     * Prefix tuning lays out one shape of keys and values for every layer; Gemma 4's full layers have heads of their
     * own and its kv-shared layers none, and latent attention (DeepSeek-V3) caches latents, not heads: refused with
     * what differs and what to use instead.
     */
    @Test
    void prefixTuningRefusesLayersOfAnotherKeyValueShape() {
        try (LanguageModel base = tiny("deepseek_v3")) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, PrefixTuningConfig.of(3)));
            assertTrue(e.getMessage().contains("caches one latent of") && e.getMessage().contains("LoRA"),
                    e.getMessage());
        }
        try (LanguageModel base = tiny("gemma4_text")) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, PrefixTuningConfig.of(3)));
            assertTrue(e.getMessage().contains("layer 1 has 1 key/value heads of 16") && e.getMessage().contains("LoRA"),
                    e.getMessage());
        }
        try (LanguageModel base = tiny("gemma4_text", c -> c.put("global_head_dim", 8).put("attention_k_eq_v", false))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, PrefixTuningConfig.of(3)));
            assertTrue(e.getMessage().contains("layer 2 projects no keys and values"), e.getMessage());
        }
        try (LanguageModel base = tiny("gemma4_text", c -> c.put("global_head_dim", 8).put("attention_k_eq_v", false)
                .put("num_kv_shared_layers", 0))) {
            assertNotNull(Peft.wrap(base, PrefixTuningConfig.of(3)), "one shape for every layer: prefix tuning runs");
        }
    }

    /**
     * Packed examples through recurrent layers: each restarts the layers' convolution and state, so that the packed
     * rows' summed loss and its gradients are the examples' own, and a packed SFT run trains.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3_5_text", "granite4_h", "lfm2", "falcon_h1", "nemotron_h"})
    void packedExamplesTrainAsTheyWouldAlone(String type) {
        try (LanguageModel base = tiny(type)) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
                    .build());
            TokenizedDataset alone = TokenizedDataset.of(new long[][]{{1, 2, 3, 9, 4}, {4, 5, 6}, {7, 8}, {10, 11, 12}});
            TokenizedDataset packed = alone.packed(8);
            assertEquals(2, packed.size(), "two rows of packed examples");
            double[] sums = new double[2];
            List<Map<String, float[]>> gradients = new ArrayList<>();
            for (TokenizedDataset data : List.of(alone, packed)) {
                SftObjective objective = new SftObjective(model, data, 0);
                Map<String, float[]> before = EveryMethodTrainsTest.gradients(model.trainableParameters());
                try (var scope = TensorScope.open()) {
                    Tensor loss = objective.lossSum(IntStream.range(0, data.size()).toArray()).sum();
                    sums[gradients.size()] = loss.toFloatArray()[0];
                    Autograd.backward(loss);
                }
                Map<String, float[]> step = EveryMethodTrainsTest.gradients(model.trainableParameters());
                step.forEach((name, g) -> {
                    float[] earlier = before.get(name);
                    for (int j = 0; earlier != null && j < g.length; j++) {
                        g[j] -= earlier[j];
                    }
                });
                gradients.add(step);
            }
            gradients.get(0).forEach((name, g) -> assertArrayEquals(g, gradients.get(1).get(name), 2e-5f, type + " " + name));
            assertEquals(sums[0], sums[1], 1e-4 * sums[0], type + ": the summed loss of the packed rows");
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(6).microBatchSize(2).learningRate(2e-2)
                    .schedule(Schedule.CONSTANT).shuffle(false).logEverySteps(0).build();
            List<Double> losses = SftTrainer.builder().model(model).config(cfg).trainData(packed).build().train()
                    .lossHistory();
            assertTrue(losses.get(5) < losses.get(0), type + ": packed training, loss " + losses);
        }
    }

    /**
     * Trains {@code model} 12 SFT steps at rate {@code lr}, asserts that the loss falls by 2%, then checks every
     * trainable tensor's gradient against finite differences (A's and B's need only descend with {@code dora}).
     */
    static void assertTrainsAndMatchesFiniteDifferences(String what, PeftModel model, double lr, boolean dora) {
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(3).learningRate(lr)
                .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
        List<Double> losses = SftTrainer.builder().model(model).config(cfg)
                .trainData(EveryMethodTrainsTest.sftData(1)).build().train().lossHistory();
        assertTrue(losses.get(STEPS - 2) + losses.get(STEPS - 1) < 0.98 * (losses.get(0) + losses.get(1)),
                what + ": loss " + losses);
        EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences(what, dora, TrainedModel.of(model),
                new SftObjective(model, EveryMethodTrainsTest.sftData(1), 0));
    }

    /** The module names (last path element) that carry a LoRA A, in first-seen order. */
    private static List<String> targetedModules(PeftModel model) {
        return model.trainableParameters().keySet().stream().filter(n -> n.contains("lora_A"))
                .map(n -> n.substring(0, n.indexOf(".lora_A"))).map(n -> n.substring(n.lastIndexOf('.') + 1))
                .distinct().toList();
    }

    /**
     * Under BF16_MIXED (bf16 activations into the routers and experts, float32 routing probabilities; gpt-oss's
     * attention output kept in bf16 for its sinks' gradient; DeepSeek-V3's latent attention and float32 router) a
     * mixture trains as it does in float32: the first step's loss agrees to bf16's precision and the loss falls.
     */
    @ParameterizedTest
    @CsvSource({"qwen2_moe,up_proj", "gpt_oss,router", "deepseek_v3,kv_b_proj", "gemma4_text_moe,proj"})
    void aMixtureTrainsUnderBf16Mixed(String type, String mixtureTarget) {
        double[] first = new double[2];
        List<Double> mixed = null;
        for (Precision precision : List.of(Precision.F32, Precision.BF16_MIXED)) {
            try (LanguageModel base = tiny(type, c -> c.put("num_experts_per_tok", 2))) {
                PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                        .targetModules("q_proj", "v_proj", mixtureTarget).build());
                TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(3).learningRate(1e-2)
                        .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).precision(precision).build();
                List<Double> losses = SftTrainer.builder().model(model).config(cfg)
                        .trainData(EveryMethodTrainsTest.sftData(1)).build().train().lossHistory();
                first[precision.ordinal()] = losses.getFirst();
                mixed = losses;
            }
        }
        assertEquals(first[0], first[1], 1e-2 * first[0], "first step's loss, F32 against BF16_MIXED");
        assertTrue(mixed.get(STEPS - 2) + mixed.get(STEPS - 1) < 0.98 * (mixed.get(0) + mixed.get(1)), "loss " + mixed);
    }

    /**
     * Gradient checkpointing recomputes each layer in the backward: a sparse block with the same routing (DeepSeek-V3's
     * grouped one too, behind its latent attention), a linear-attention or Mamba-2 layer with the same states; the same
     * losses, step by step.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen2_moe", "qwen3_5_text", "granite4_h", "deepseek_v3"})
    void trainsTheSameWithGradientCheckpointing(String type) {
        boolean mixture = type.equals("qwen2_moe") || type.equals("deepseek_v3");
        String[] targets = switch (type) {
            case "qwen2_moe" -> new String[]{"q_proj", "gate", "up_proj"};
            case "deepseek_v3" -> new String[]{"q_b_proj", "kv_b_proj", "up_proj"};
            case "granite4_h" -> new String[]{"q_proj", "in_proj", "out_proj", "input_linear"};
            default -> new String[]{"q_proj", "in_proj_qkv", "in_proj_a", "up_proj"};
        };
        List<List<Double>> runs = new ArrayList<>();
        for (boolean checkpointing : new boolean[]{false, true}) {
            try (LanguageModel base = tiny(type, c -> {
                if (mixture) {
                    c.put("num_experts_per_tok", 2);
                }
            })) {
                PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                        .targetModules(targets).build());
                TrainingConfig cfg = TrainingConfig.builder().maxSteps(4).microBatchSize(3).learningRate(1e-2)
                        .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0)
                        .gradientCheckpointing(checkpointing).build();
                runs.add(SftTrainer.builder().model(model).config(cfg).trainData(EveryMethodTrainsTest.sftData(1))
                        .build().train().lossHistory());
            }
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(runs.get(0).get(i), runs.get(1).get(i), 1e-6 * runs.get(0).get(i), type + " step " + (i + 1));
        }
        assertTrue(runs.get(0).get(3) < runs.get(0).get(0), type + ": the adapters train, loss " + runs.get(0));
    }

    /**
     * With {@code output_router_logits} the loss of a step is the objective's plus {@code router_aux_loss_coef} times
     * the routers' load-balancing loss, reported as {@code router_aux_loss} (SFT as transformers, DPO, ORPO and KTO as
     * TRL):
     * the same model without the switch reports the objective's loss alone. An evaluation reports the balance and
     * keeps its loss the objective's. Gradient checkpointing, which keeps no router probabilities, is refused.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sft", "dpo", "orpo", "kto"})
    void theRoutersLoadBalanceJoinsTheLossWithItsCoefficient(String objective) {
        Consumer<ObjectNode> topTwo = c -> c.put("num_experts_per_tok", 2).put("num_experts", 4);
        Consumer<ObjectNode> balanced = topTwo.andThen(c -> c.put("output_router_logits", true)
                .put("router_aux_loss_coef", 0.25));
        // a learning rate of 1e-12 keeps the weights the evaluation after the step sees as they were
        TrainingConfig oneStep = TrainingConfig.builder().maxSteps(1).microBatchSize(6).learningRate(1e-12)
                .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).evalEverySteps(1).build();
        Run plain = run(objective, topTwo, oneStep);
        Run withBalance = run(objective, balanced, oneStep);
        double aux = withBalance.step().extra().get("router_aux_loss");
        assertTrue(aux >= 2 - 1e-6, "the balance of top-2 routing is at least k = 2, got " + aux);
        assertEquals(plain.step().loss() + 0.25 * aux, withBalance.step().loss(), 1e-6 * Math.abs(withBalance.step().loss()));
        assertEquals(plain.eval().loss(), withBalance.eval().loss(), 1e-6 * Math.abs(plain.eval().loss()),
                "an evaluation's loss is the objective's alone");
        assertTrue(withBalance.eval().extra().get("router_aux_loss") >= 2 - 1e-6, "reported in evaluations");
        TrainingConfig checkpointed = TrainingConfig.builder().maxSteps(1).microBatchSize(6).gradientCheckpointing(true)
                .logEverySteps(0).build();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> run(objective, balanced, checkpointed));
        assertTrue(e.getMessage().contains("gradient checkpointing"), e.getMessage());
    }

    /** A run's last step and last evaluation. */
    private record Run(StepMetrics step, EvalMetrics eval) {
    }

    /** One run of {@code objective} with LoRA on the attention and the routers of a tiny Qwen3-MoE. */
    private static Run run(String objective, Consumer<ObjectNode> config, TrainingConfig cfg) {
        try (LanguageModel base = tiny("qwen3_moe", config)) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0)
                    .targetModules("q_proj", "gate").build());
            MetricsRecorder listener = new MetricsRecorder();
            switch (objective) {
                case "sft" -> SftTrainer.builder().model(model).config(cfg).trainData(EveryMethodTrainsTest.sftData(1))
                        .evalData(EveryMethodTrainsTest.sftData(2)).listener(listener).build().train();
                case "dpo" -> DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(1.0))
                        .trainData(EveryMethodTrainsTest.pairs(1)).evalData(EveryMethodTrainsTest.pairs(2))
                        .listener(listener).build().train();
                case "orpo" -> ReferenceFreeTrainer.builder().model(model).config(cfg).loss(new OrpoConfig(0.5))
                        .trainData(EveryMethodTrainsTest.pairs(1)).evalData(EveryMethodTrainsTest.pairs(2))
                        .listener(listener).build().train();
                case "kto" -> KtoTrainer.builder().model(model).config(cfg).kto(new KtoConfig(1.0, 1.0, 1.0))
                        .trainData(EveryMethodTrainsTest.ktoRows(1)).evalData(EveryMethodTrainsTest.ktoRows(2))
                        .listener(listener).build().train();
                default -> throw new IllegalArgumentException(objective);
            }
            return new Run(listener.steps.getLast(),
                    listener.evaluations.isEmpty() ? null : listener.evaluations.getLast());
        }
    }

    /** Hidden 32, 4 heads of 8 (2 key-value heads), 2 layers, 32 positions; weights N(0, 0.1). */
    static LanguageModel tiny(String type) {
        return tiny(type, c -> { });
    }

    /** {@link #tiny(String)} with config.json's fields changed by {@code tweak} after the family's. */
    private static LanguageModel tiny(String type, Consumer<ObjectNode> tweak) {
        ObjectNode c = tinyConfig(type);
        tweak.accept(c);
        LanguageModel model = AutoModel.newCausalLM(c, TensorScope.detached(dev.finetune4j.core.backend.Device.cpu()));
        SplittableRandom random = new SplittableRandom(5);
        StateDicts.initNormal(model, 0.1, random);
        if (type.equals("gemma4_text_moe") || type.equals("mistral4")) {
            // their stacked experts too (initNormal draws matrices only): zero experts would leave the router, and
            // adapters on the experts (target_parameters), no gradient
            model.stateDict().values().stream().filter(t -> t.rank() == 3)
                    .forEach(t -> StateDicts.fill(t, () -> StateDicts.gaussian(random) * 0.1));
        }
        RecurrentConstants.drawUniform(model, random, 0.2);
        return model;
    }

    /** The config.json of {@link #tiny(String)}'s model of {@code type}. */
    static ObjectNode tinyConfig(String type) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", type).put("vocab_size", VOCAB).put("hidden_size", 32).put("intermediate_size", 48)
                .put("num_hidden_layers", 2).put("num_attention_heads", 4).put("num_key_value_heads", 2)
                .put("head_dim", 8).put("max_position_embeddings", 32).put("rms_norm_eps", 1e-6);
        switch (type) {
            case "gemma2" -> c.put("sliding_window", 4).put("attn_logit_softcapping", 1.0)
                    .put("final_logit_softcapping", 2.0).put("query_pre_attn_scalar", 12);
            case "gemma3_text" -> {
                c.put("sliding_window", 4).put("query_pre_attn_scalar", 12);
                c.putArray("layer_types").add("sliding_attention").add("full_attention");
                ObjectNode rope = c.putObject("rope_parameters");
                rope.putObject("full_attention").put("rope_type", "linear").put("factor", 4.0).put("rope_theta", 1e6);
                rope.putObject("sliding_attention").put("rope_type", "default").put("rope_theta", 1e4);
            }
            case "phi3" -> {
                c.put("sliding_window", 5).put("original_max_position_embeddings", 8).put("partial_rotary_factor", 0.5);
                ObjectNode rope = c.putObject("rope_scaling").put("type", "longrope");
                rope.putArray("short_factor").add(1.0).add(1.5);
                rope.putArray("long_factor").add(2.0).add(6.0);
            }
            // each multiplier far from 1 and from the others, so that a misplaced one changes the gradients
            case "granite" -> c.put("embedding_multiplier", 3.0).put("residual_multiplier", 0.5)
                    .put("attention_multiplier", 0.2).put("logits_scaling", 2.0);
            // Granite 3's mixtures: three stacked experts, each token sent to all of them; the second with its shared MLP
            case "granitemoe", "granitemoeshared" -> c.put("embedding_multiplier", 3.0).put("residual_multiplier", 0.5)
                    .put("attention_multiplier", 0.2).put("logits_scaling", 2.0).put("num_local_experts", 3)
                    .put("num_experts_per_tok", 3).put("intermediate_size", 16).put("shared_intermediate_size", 40);
            // Granite 4's attention-only dense model: the fused shared_mlp, no position encoding (its default); its H
            // model has a Mamba-2 layer first (two groups of two heads)
            // (and with a mixture of three stacked experts beside the shared MLP, each token sent to all of them)
            case "granitemoehybrid", "granite4_h", "granite4_h_moe" -> {
                boolean hybrid = !type.equals("granitemoehybrid");
                c.put("model_type", "granitemoehybrid").put("embedding_multiplier", 3.0).put("residual_multiplier", 0.5)
                        .put("attention_multiplier", 0.2).put("logits_scaling", 2.0).put("shared_intermediate_size", 40)
                        .put("num_local_experts", type.equals("granite4_h_moe") ? 3 : 0).put("num_experts_per_tok", 3)
                        .put("intermediate_size", 16);
                c.putArray("layer_types").add(hybrid ? "mamba" : "attention").add("attention");
                if (hybrid) {
                    c.put("mamba_n_heads", 4).put("mamba_n_groups", 2).put("mamba_d_state", 8);
                }
            }
            // attention and a Mamba-2 mixer side by side (two groups of two heads, the gated norm per group after the
            // gate), every muP multiplier far from 1 and from the others
            case "falcon_h1" -> {
                c.put("mamba_n_heads", 4).put("mamba_n_groups", 2).put("mamba_d_state", 8).put("mamba_d_ssm", 48)
                        .put("mamba_rms_norm", true).put("mamba_norm_before_gate", false)
                        .put("embedding_multiplier", 1.5).put("lm_head_multiplier", 0.5).put("key_multiplier", 0.7)
                        .put("attention_in_multiplier", 1.2).put("attention_out_multiplier", 0.8)
                        .put("ssm_in_multiplier", 1.3).put("ssm_out_multiplier", 0.6);
                c.putArray("mlp_multipliers").add(1.4).add(0.6);
                c.putArray("ssm_multipliers").add(0.9).add(1.2).add(0.7).add(1.1).add(0.8);
            }
            // one block per layer: a Mamba-2 mixer (two groups of two heads, its time steps floored), the attention
            // without rotary, an MLP with the squared ReLU
            case "nemotron_h" -> c.put("hybrid_override_pattern", "M*-").put("mamba_num_heads", 4)
                    .put("mamba_head_dim", 12).put("n_groups", 2).put("ssm_state_size", 8).put("time_step_min", 0.05)
                    .put("layer_norm_epsilon", 1e-6);
            // nemotron_h's Mamba-2 and attention blocks around a mixture: 4 gateless experts of 16, 2 per token from
            // the better of 2 groups, renormalised, times 2.5, beside a shared expert of 24
            case "nemotron_h_moe" -> c.put("model_type", "nemotron_h").put("hybrid_override_pattern", "ME*")
                    .put("mamba_num_heads", 4).put("mamba_head_dim", 12).put("n_groups", 2).put("ssm_state_size", 8)
                    .put("time_step_min", 0.05).put("layer_norm_epsilon", 1e-6).put("n_routed_experts", 4)
                    .put("num_experts_per_tok", 2).put("moe_intermediate_size", 16)
                    .put("moe_shared_expert_intermediate_size", 24).put("n_group", 2).put("topk_group", 1)
                    .put("routed_scaling_factor", 2.5);
            // sliding, full, sliding, full: the full layers' heads of 16 over one key/value head whose projection is
            // also the values (attention_k_eq_v), the last two layers attending over the first two's keys and values
            // through MLPs of twice the width, per-layer inputs of 8, logits soft-capped
            case "gemma4_text" -> {
                c.put("num_hidden_layers", 4).put("sliding_window", 4).put("attention_k_eq_v", true)
                        .put("global_head_dim", 16).put("num_global_key_value_heads", 1).put("num_kv_shared_layers", 2)
                        .put("use_double_wide_mlp", true).put("hidden_size_per_layer_input", 8)
                        .put("vocab_size_per_layer_input", VOCAB).put("final_logit_softcapping", 10.0);
                c.putArray("layer_types").add("sliding_attention").add("full_attention").add("sliding_attention")
                        .add("full_attention");
                ObjectNode rope = c.putObject("rope_parameters");
                rope.putObject("sliding_attention").put("rope_type", "default").put("rope_theta", 1e4);
                rope.putObject("full_attention").put("rope_type", "proportional").put("partial_rotary_factor", 0.5)
                        .put("rope_theta", 1e4);
            }
            // a sliding and a full layer as gemma4_text's (no per-layer inputs or shared layers, as gemma-4-26B-A4B),
            // each with 4 experts of 16 beside its MLP, every token sent to all of them (see the NOTE below)
            case "gemma4_text_moe" -> {
                c.put("model_type", "gemma4_text").put("sliding_window", 4).put("attention_k_eq_v", true)
                        .put("global_head_dim", 16).put("num_global_key_value_heads", 1)
                        .put("hidden_size_per_layer_input", 0).put("final_logit_softcapping", 10.0)
                        .put("enable_moe_block", true).put("num_experts", 4).put("top_k_experts", 4)
                        .put("moe_intermediate_size", 16);
                c.putArray("layer_types").add("sliding_attention").add("full_attention");
                ObjectNode rope = c.putObject("rope_parameters");
                rope.putObject("sliding_attention").put("rope_type", "default").put("rope_theta", 1e4);
                rope.putObject("full_attention").put("rope_type", "proportional").put("partial_rotary_factor", 0.5)
                        .put("rope_theta", 1e4);
            }
            case "olmo2" -> { }
            case "olmo3" -> c.put("sliding_window", 4).putArray("layer_types").add("sliding_attention")
                    .add("full_attention");
            case "smollm3" -> c.putArray("no_rope_layers").add(1).add(0);
            // half of each head rotated in adjacent pairs; GLM-4 with its four norms per layer
            case "glm", "glm4" -> { }
            case "ernie4_5" -> c.put("use_bias", true);
            // parallel sub-blocks under LayerNorms, logits scaled; Cohere 2 rotates its sliding layer only
            case "cohere" -> c.put("logit_scale", 0.5);
            case "cohere2" -> c.put("logit_scale", 0.5).put("sliding_window", 4).putArray("layer_types")
                    .add("sliding_attention").add("full_attention");
            // norms after the sub-blocks, q/k norms per head, a window, a full layer without rotary
            case "exaone4" -> c.put("sliding_window", 4).putArray("layer_types").add("sliding_attention")
                    .add("full_attention");
            case "seed_oss" -> c.put("attention_bias", true).put("attention_out_bias", true);
            // q/k norms after the rotary, whose base alpha moves
            case "hunyuan_v1_dense" -> c.putObject("rope_parameters").put("rope_type", "dynamic").put("alpha", 50.0)
                    .put("rope_theta", 10000.0);
            // LayerNorms with biases, an MLP without a gate, biases everywhere, a window on every layer
            case "starcoder2" -> c.put("sliding_window", 4);
            case "arcee" -> { }
            // q/k norms per head, xIELU with each layer's (frozen) scalars, llama3 rope by default
            case "apertus" -> { }
            // YaRN, and the query temperature stepping every 2 positions (beta far above the published 0.1)
            case "ministral3" -> c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 1e4)
                    .put("factor", 4.0).put("original_max_position_embeddings", 2).put("llama_4_scaling_beta", 0.7);
            // a window of 4 on the first layer only
            case "ministral" -> c.put("sliding_window", 4).putArray("layer_types").add("sliding_attention")
                    .add("full_attention");
            // a convolution layer (biased), then attention; the MLP's width rewritten to 48 (2/3 of 64, times 1.4,
            // rounded up to 16)
            case "lfm2" -> {
                c.put("conv_bias", true).put("intermediate_size", 64).put("block_ffn_dim_multiplier", 1.4)
                        .put("block_multiple_of", 16);
                c.putArray("layer_types").add("conv").add("full_attention");
            }
            // a dense first layer, then three experts that every token meets (their sigmoid weights, the expert bias
            // and the scaling still differ from a softmax's), the second layer attention
            case "lfm2_moe" -> {
                c.put("num_dense_layers", 1).put("num_experts", 3).put("num_experts_per_tok", 3)
                        .put("moe_intermediate_size", 16).put("routed_scaling_factor", 1.5);
                c.putArray("layer_types").add("conv").add("full_attention");
            }
            // a dense first layer, then every token to all 4 experts of 2 groups (sigmoid weights, renormalised and
            // scaled), an ungated shared expert, q/k/v biases, per-head q/k norms and half of each head rotated
            case "glm4_moe" -> c.put("n_routed_experts", 4).put("num_experts_per_tok", 4).put("n_group", 2)
                    .put("topk_group", 2).put("moe_intermediate_size", 16).put("first_k_dense_replace", 1)
                    .put("routed_scaling_factor", 1.5).put("attention_bias", true).put("use_qk_norm", true);
            // a dense first layer, then every token to all 4 experts, an ungated shared expert with biases as every
            // projection but the experts' (use_bias), lm_head's included
            case "ernie4_5_moe" -> c.put("moe_num_experts", 4).put("moe_k", 4).put("moe_intermediate_size", 16)
                    .put("moe_num_shared_experts", 1).put("use_bias", true).put("tie_word_embeddings", false);
            // latent attention (a query bottleneck, key and value heads of different widths, YaRN with DeepSeek's
            // mscales), then GLM-4.5's mixture: every token to all 4 experts of 2 groups
            case "deepseek_v3" -> {
                c.remove("head_dim");
                c.put("q_lora_rank", 12).put("kv_lora_rank", 8).put("qk_nope_head_dim", 6).put("qk_rope_head_dim", 4)
                        .put("v_head_dim", 5).put("num_key_value_heads", 4).put("n_routed_experts", 4)
                        .put("num_experts_per_tok", 4).put("n_group", 2).put("topk_group", 2)
                        .put("moe_intermediate_size", 16).put("first_k_dense_replace", 1);
                c.putObject("rope_scaling").put("type", "yarn").put("factor", 4.0).put("mscale", 1.0)
                        .put("mscale_all_dim", 0.7).put("original_max_position_embeddings", 8);
            }
            // DeepSeek-V2-Lite's latent attention (a plain q_proj, adjacent pairs) with its softmax router over groups
            // scored by their best, every token to all 4 experts, the weights scaled and not renormalised
            case "deepseek_v2" -> {
                c.remove("head_dim");
                c.put("kv_lora_rank", 8).put("qk_nope_head_dim", 6).put("qk_rope_head_dim", 4).put("v_head_dim", 5)
                        .put("num_key_value_heads", 4).put("n_routed_experts", 4).put("num_experts_per_tok", 4)
                        .put("topk_method", "group_limited_greedy").put("n_group", 2).put("topk_group", 2)
                        .put("moe_intermediate_size", 16).put("first_k_dense_replace", 1)
                        .put("routed_scaling_factor", 1.5);
                c.putNull("q_lora_rank");
            }
            // Mistral 4: the latent attention with the query temperature on whole query heads (stepping every 2
            // positions, beta far above the published 0.1), then its softmax router over 2 groups sending every token
            // to all 4 fused experts (x W^T), renormalised and scaled, beside a shared expert
            case "mistral4" -> {
                c.remove("head_dim");
                c.put("q_lora_rank", 12).put("kv_lora_rank", 8).put("qk_nope_head_dim", 6).put("qk_rope_head_dim", 4)
                        .put("v_head_dim", 5).put("num_key_value_heads", 4).put("n_routed_experts", 4)
                        .put("num_experts_per_tok", 4).put("n_group", 2).put("topk_group", 2)
                        .put("moe_intermediate_size", 16).put("first_k_dense_replace", 1)
                        .put("routed_scaling_factor", 1.5);
                c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 1e4).put("factor", 4.0)
                        .put("mscale", 1.0).put("mscale_all_dim", 0.7).put("original_max_position_embeddings", 2)
                        .put("llama_4_scaling_beta", 0.7);
            }
            // NOTE: the mixtures send each token to every expert: the finite differences' steps of 1e-2 would otherwise
            // move some tokens to other experts, a jump no derivative describes (references/ checks top-k routing)
            case "mixtral" -> c.put("num_local_experts", 4).put("num_experts_per_tok", 4);
            case "qwen2_moe" -> {
                c.put("num_experts", 4).put("num_experts_per_tok", 4).put("moe_intermediate_size", 16)
                        .put("shared_expert_intermediate_size", 24);
                c.putArray("mlp_only_layers").add(1);
            }
            case "qwen3_moe" -> c.put("num_experts", 3).put("num_experts_per_tok", 3).put("moe_intermediate_size", 16)
                    .put("norm_topk_prob", true);
            case "olmoe" -> c.put("num_experts", 4).put("num_experts_per_tok", 4);
            // attention sinks, a sliding first layer, YaRN, a biased router and the clamped experts (a limit of 0.1:
            // N(0, 0.1) weights would not reach gpt-oss's 7)
            case "gpt_oss" -> c.put("num_local_experts", 4).put("num_experts_per_tok", 4).put("sliding_window", 4)
                    .put("swiglu_limit", 0.1);
            // a linear-attention layer, then a full one; two value heads per key head; Qwen3.5-MoE's mixtures with a
            // shared expert in both
            case "qwen3_5_text", "qwen3_5_moe_text" -> {
                c.put("linear_num_key_heads", 1).put("linear_num_value_heads", 2).put("linear_key_head_dim", 8)
                        .put("linear_value_head_dim", 8);
                c.putArray("layer_types").add("linear_attention").add("full_attention");
                if (type.equals("qwen3_5_moe_text")) {
                    c.remove("intermediate_size");
                    c.put("num_experts", 3).put("num_experts_per_tok", 3).put("moe_intermediate_size", 16)
                            .put("shared_expert_intermediate_size", 24);
                }
            }
            // Qwen3.5-MoE's layers with the DeltaNet's fused projections (two value heads per key head, so that the
            // per-key-head grouping of in_proj_qkvz and in_proj_ba matters), a dense second layer (mlp_only_layers)
            case "qwen3_next" -> {
                c.put("linear_num_key_heads", 2).put("linear_num_value_heads", 4).put("linear_key_head_dim", 8)
                        .put("linear_value_head_dim", 6).put("num_experts", 3).put("num_experts_per_tok", 3)
                        .put("moe_intermediate_size", 16).put("shared_expert_intermediate_size", 24);
                c.putArray("layer_types").add("linear_attention").add("full_attention");
                c.putArray("mlp_only_layers").add(1);
            }
            default -> throw new IllegalArgumentException(type);
        }
        return c;
    }
}
