package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.Gemma4MultimodalFolders;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InteropExportTest}'s cases over the families added since its hf-tiny models: core's reference folders of
 * Granite 3 and 4, OLMo 2 and 3, SmolLM3, OLMoE, gpt-oss, Qwen3.5 (its linear-attention projections included),
 * Qwen3.5-MoE, GLM, GLM-4, ERNIE 4.5, Cohere 1 and 2, EXAONE 4, Seed-OSS, Hunyuan, StarCoder2, Arcee, Apertus (xIELU's
 * scalars in the base), LFM2, LFM2-MoE, GLM-4.5, ERNIE-4.5-MoE, DeepSeek-V2 and V3 (their latent attention's
 * projections), Qwen3-Next (its fused DeltaNet projections), Qwen3-VL's language model (its adapters named as on
 * Qwen3VLForConditionalGeneration), Falcon-H1 (its Mamba-2 mixers' in_proj beside the attention, biased ones with
 * DoRA), Ministral 3 (its query temperature), Ministral (sliding and full layers), Mistral 4 (the temperature on its
 * latent attention, its shared experts), Mistral 3's language model (its
 * adapters named as on Mistral3ForConditionalGeneration), Nemotron-H (its one-block layers, the checkpoint's
 * backbone.* named model.* as PEFT names it) and Gemma 4 (layers without v_proj or without any key/value projection,
 * per-layer inputs' projections; the dense MLP and router beside its mixture of experts), each with LoRA at this library's default targets or on every projection,
 * random non-zero weights; the Qwen3-VL, Mistral 3 and Gemma 4 cases also hold the merged model, saved as the whole checkpoint
 * ({@code merged/}).
 * {@code python3 tools/reference/check_interop.py peft/target/interop OUT.json} loads them in Python PEFT (and each
 * merged folder in transformers); the results are recorded in peft/INTEROP.md.
 */
class NewFamiliesInteropExportTest {
    private static final String[] ATTENTION = {"q_proj", "k_proj", "v_proj", "o_proj"};
    /** GLM's projections: the MLP's gate and up fused. */
    private static final String[] GATE_UP = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"};

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("granite-lora", "granite", lora().targetModules(all())),
                Arguments.of("granite4-lora", "granite4", lora().targetModules("q_proj", "v_proj", "input_linear",
                        "output_linear")),
                Arguments.of("granitemoeshared-lora", "granitemoeshared", lora().targetModules("q_proj", "k_proj",
                        "v_proj", "o_proj", "input_linear", "output_linear")),
                Arguments.of("olmo2-lora", "olmo2", lora().targetModules(all())),
                Arguments.of("olmo3-lora", "olmo3", lora().targetModules(all())),
                Arguments.of("smollm3-lora", "smollm3", lora().targetModules(all())),
                Arguments.of("olmoe-lora", "olmoe", lora().targetModules(ATTENTION)),
                Arguments.of("gpt_oss-lora", "gpt_oss", lora().targetModules(ATTENTION)),
                Arguments.of("qwen3_5-lora-default", "qwen3_5", lora()),
                Arguments.of("qwen3_5-lora-all", "qwen3_5", lora().targetModules("q_proj", "k_proj", "v_proj", "o_proj",
                        "in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a", "out_proj", "gate_proj", "up_proj",
                        "down_proj")),
                Arguments.of("qwen3_5-dora", "qwen3_5", lora().targetModules("q_proj", "in_proj_qkv", "out_proj")
                        .useDora(true)),
                Arguments.of("qwen3_5_moe-lora", "qwen3_5_moe", lora().targetModules("q_proj", "v_proj", "in_proj_qkv",
                        "out_proj", "shared_expert_gate")),
                Arguments.of("granite4_h-lora-default", "granite4_h", lora()),
                Arguments.of("granite4_h-lora-all", "granite4_h", lora().targetModules("q_proj", "k_proj", "v_proj",
                        "o_proj", "in_proj", "out_proj", "input_linear", "output_linear")),
                Arguments.of("granite4_h-dora", "granite4_h", lora().targetModules("in_proj", "out_proj").useDora(true)),
                Arguments.of("granite4_h_moe-lora", "granite4_h_moe", lora().targetModules("q_proj", "v_proj", "in_proj",
                        "out_proj", "input_linear", "output_linear")),
                Arguments.of("glm-lora", "glm", lora().targetModules(GATE_UP)),
                Arguments.of("glm4-lora", "glm4", lora().targetModules(GATE_UP)),
                Arguments.of("glm4-dora", "glm4", lora().targetModules("q_proj", "k_proj", "gate_up_proj")
                        .useDora(true)),
                Arguments.of("ernie4_5-lora", "ernie4_5", lora().targetModules(all())),
                Arguments.of("cohere-lora", "cohere", lora().targetModules(all())),
                Arguments.of("cohere_qk_norm-lora", "cohere_qk_norm", lora().targetModules(all())),
                Arguments.of("cohere2-lora", "cohere2", lora().targetModules(all())),
                Arguments.of("cohere2-lora-default", "cohere2", lora()),
                Arguments.of("exaone4-lora", "exaone4", lora().targetModules(all())),
                Arguments.of("seed_oss-lora", "seed_oss", lora().targetModules(all())),
                Arguments.of("hunyuan_v1_dense-lora", "hunyuan_v1_dense", lora().targetModules(all())),
                Arguments.of("starcoder2-lora", "starcoder2", lora().targetModules("q_proj", "k_proj", "v_proj",
                        "o_proj", "c_fc", "c_proj")),
                Arguments.of("arcee-dora", "arcee", lora().targetModules("q_proj", "v_proj", "up_proj", "down_proj")
                        .useDora(true)),
                Arguments.of("apertus-lora", "apertus", lora().targetModules("q_proj", "k_proj", "v_proj", "o_proj",
                        "up_proj", "down_proj")),
                Arguments.of("lfm2-lora-default", "lfm2", lora()),
                Arguments.of("lfm2-lora-all", "lfm2", lora().targetModules("q_proj", "k_proj", "v_proj", "out_proj",
                        "in_proj", "w1", "w2", "w3")),
                Arguments.of("lfm2_moe-lora-default", "lfm2_moe", lora()),
                Arguments.of("glm4_moe-lora", "glm4_moe", lora().targetModules(ATTENTION)),
                Arguments.of("ernie4_5_moe-lora", "ernie4_5_moe", lora().targetModules(ATTENTION)),
                Arguments.of("deepseek_v3-lora", "deepseek_v3", lora().targetModules("q_a_proj", "q_b_proj",
                        "kv_a_proj_with_mqa", "kv_b_proj", "o_proj")),
                Arguments.of("deepseek_v3-dora", "deepseek_v3", lora().targetModules("q_b_proj", "kv_b_proj")
                        .useDora(true)),
                Arguments.of("deepseek_v3_lite-lora-default", "deepseek_v3_lite", lora()),
                Arguments.of("qwen3_next-lora-default", "qwen3_next", lora()),
                Arguments.of("deepseek_v2-lora", "deepseek_v2", lora().targetModules("q_a_proj", "q_b_proj",
                        "kv_a_proj_with_mqa", "kv_b_proj", "o_proj")),
                Arguments.of("deepseek_v2_lite-lora-default", "deepseek_v2_lite", lora()),
                Arguments.of("qwen3_next-lora-all", "qwen3_next", lora().targetModules("q_proj", "k_proj", "v_proj",
                        "o_proj", "in_proj_qkvz", "in_proj_ba", "out_proj", "shared_expert_gate")),
                Arguments.of("qwen3_vl-lora-default", "qwen3_vl", lora()),
                Arguments.of("qwen3_vl_moe-lora", "qwen3_vl_moe", lora().targetModules(ATTENTION)),
                Arguments.of("qwen3_vl-lora-all", "qwen3_vl", lora().targetModules(all())),
                Arguments.of("qwen3_vl-dora", "qwen3_vl", lora().targetModules("q_proj", "k_proj", "down_proj")
                        .useDora(true)),
                Arguments.of("falcon_h1-lora-default", "falcon_h1", lora()),
                // every projection PEFT adapts in a Falcon-H1 (not the mixers' out_proj: LoraInjector says why)
                Arguments.of("falcon_h1-lora-all", "falcon_h1", lora().targetModules("q_proj", "k_proj", "v_proj",
                        "o_proj", "in_proj", "gate_proj", "up_proj", "down_proj")),
                Arguments.of("falcon_h1_no_rms_norm-dora", "falcon_h1_no_rms_norm", lora().targetModules("q_proj",
                        "o_proj", "in_proj", "down_proj").useDora(true)),
                Arguments.of("ministral3-lora", "ministral3", lora().targetModules(all())),
                Arguments.of("ministral-lora", "ministral", lora().targetModules(all())),
                // the latent attention's projections under the query temperature, and the shared experts (PEFT meets
                // the routed experts as stacked parameters, not modules)
                Arguments.of("mistral4-lora", "mistral4", lora().targetModules("q_a_proj", "q_b_proj",
                        "kv_a_proj_with_mqa", "kv_b_proj", "o_proj", "shared_experts.up_proj",
                        "shared_experts.down_proj")),
                Arguments.of("mistral4-lora-default", "mistral4", lora()),
                // the default targets: the language model's q/v only (the pixtral tower has q_proj and v_proj too)
                Arguments.of("mistral3-lora-default", "mistral3", lora()),
                Arguments.of("mistral3-dora", "mistral3", lora().targetModules("q_proj", "o_proj", "down_proj")
                        .useDora(true)),
                Arguments.of("nemotron_h-lora-default", "nemotron_h", lora()),
                // every projection PEFT adapts in a Nemotron-H (not the mixers' out_proj: LoraInjector says why)
                Arguments.of("nemotron_h-lora-all", "nemotron_h", lora().targetModules("q_proj", "k_proj", "v_proj",
                        "o_proj", "in_proj", "up_proj", "down_proj")),
                Arguments.of("nemotron_h-dora", "nemotron_h", lora().targetModules("o_proj", "in_proj", "down_proj")
                        .useDora(true)),
                // the mixture's shared expert (PEFT meets the routed experts as stacked parameters, not modules)
                Arguments.of("nemotron_h_moe-lora", "nemotron_h_moe", lora().targetModules("q_proj", "o_proj", "in_proj",
                        "shared_experts.up_proj", "shared_experts.down_proj")),
                // the default q/v: the full layers (attention_k_eq_v) have no v_proj, the kv-shared ones only q_proj
                Arguments.of("gemma4_text-lora-default", "gemma4_text", lora()),
                Arguments.of("gemma4_text-lora-all", "gemma4_text", lora().targetModules("q_proj", "k_proj", "v_proj",
                        "o_proj", "gate_proj", "up_proj", "down_proj", "per_layer_input_gate", "per_layer_projection",
                        "per_layer_model_projection")),
                Arguments.of("gemma4_text-dora", "gemma4_text", lora().targetModules("k_proj", "o_proj", "down_proj")
                        .useDora(true)),
                // the mixture beside the MLP: the dense MLP and the router's proj (PEFT meets the experts as stacked
                // parameters, not modules), and the attention, the default's q/v included
                Arguments.of("gemma4_text_moe-lora", "gemma4_text_moe", lora().targetModules("q_proj", "k_proj",
                        "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "router.proj")),
                Arguments.of("gemma4_text_moe-dora", "gemma4_text_moe", lora().targetModules("q_proj", "down_proj",
                        "router.proj").useDora(true)),
                // LoRA on the stacked experts (target_parameters): gpt-oss's held (E, in, out), Mistral 4's and Gemma
                // 4's as linear layers' (E, out, in) weights, Qwen3-VL-MoE's in its checkpoint's (E, in, out) that
                // transformers turns to (E, out, in); each with its merged folder. Gemma 4's lists down_proj first:
                // PEFT still nests gate_up_proj inside
                Arguments.of("gpt_oss-experts", "gpt_oss", lora().targetModules("o_proj")
                        .targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj")),
                Arguments.of("mistral4-experts", "mistral4", lora().targetModules("o_proj")
                        .targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj")),
                Arguments.of("gemma4_text_moe-experts", "gemma4_text_moe", lora()
                        .targetParameters("experts.down_proj", "experts.gate_up_proj")),
                Arguments.of("qwen3_vl_moe-experts", "qwen3_vl_moe", lora()
                        .targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj")),
                // LoRA on each expert's projections, saved per expert as over transformers 4's modules: PEFT 0.21
                // converts such an adapter to its stacked experts when it loads it over transformers 5
                Arguments.of("mixtral-per-expert", "mixtral", lora().targetModules("q_proj", "w1", "w2", "w3")),
                Arguments.of("qwen2_moe-per-expert", "qwen2_moe", lora().targetModules("q_proj", "gate_proj",
                        "up_proj", "down_proj")),
                Arguments.of("qwen3_moe-per-expert", "qwen3_moe", lora().targetModules("q_proj", "gate_proj",
                        "up_proj", "down_proj")),
                Arguments.of("olmoe-per-expert", "olmoe", lora().targetModules("q_proj", "gate_proj", "up_proj",
                        "down_proj")),
                Arguments.of("glm4_moe-per-expert", "glm4_moe", lora().targetModules("q_proj", "gate_proj", "up_proj",
                        "down_proj")),
                Arguments.of("ernie4_5_moe-per-expert", "ernie4_5_moe", lora().targetModules("q_proj", "gate_proj",
                        "up_proj", "down_proj")),
                Arguments.of("deepseek_v3-per-expert", "deepseek_v3", lora().targetModules("o_proj", "gate_proj",
                        "up_proj", "down_proj")));
    }

    private static LoraConfig.Builder lora() {
        return LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM);
    }

    private static String[] all() {
        return new String[]{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exportAdapterWithOurLogits(String name, String family, LoraConfig.Builder config) throws Exception {
        Path out = Path.of("target", "interop", name).toAbsolutePath();
        Path folder = ServeFixtures.model("references/" + family);
        try (LanguageModel base = AutoModel.loadCausalLM(folder)) {
            PeftModel model = Peft.wrap(base, config.build(), 2026);
            InteropExportTest.writeCase(out, "core/src/test/resources/references/" + family,
                    Fixtures.ids(folder, "input_ids"), Fixtures.ids(folder, "attention_mask"), model);
            // gemma4_text: its merged folder holds each layer's layer_scalar, which transformers loads strictly
            if (family.startsWith("qwen3_vl") || family.equals("mistral3") || family.startsWith("gemma4")
                    || name.endsWith("-experts")) {
                HfModelFolder.save(model.mergeAndUnload(), out.resolve("merged"));
                assertTrue(Files.isRegularFile(out.resolve("merged").resolve("model.safetensors")));
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("adapter_config.json")));
    }

    /**
     * Gemma 4's vision-language folders ({@link Gemma4MultimodalFolders}, written beside the cases, in
     * {@code target/interop-bases/}, the base folder each case names):
     * adapters keyed under {@code model.language_model}, saved with {@code exclude_modules} of the towers and
     * embedders, and the merged model saved as the whole checkpoint, the towers copied back.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gemma4Cases")
    void exportGemma4VisionLanguageAdapter(String name, LoraConfig.Builder config) throws Exception {
        Path out = Path.of("target", "interop", name).toAbsolutePath();
        Path folder = Gemma4MultimodalFolders.write(Path.of("target", "interop-bases", name).toAbsolutePath());
        Path text = ServeFixtures.model(Gemma4MultimodalFolders.TEXT_FIXTURE);
        try (LanguageModel base = AutoModel.loadCausalLM(folder)) {
            PeftModel model = Peft.wrap(base, config.build(), 2026);
            InteropExportTest.writeCase(out, folder.toString(), Fixtures.ids(text, "input_ids"),
                    Fixtures.ids(text, "attention_mask"), model);
            HfModelFolder.save(model.mergeAndUnload(), out.resolve("merged"));
        }
        assertTrue(Files.readString(out.resolve("adapter_config.json")).contains("embed_audio"),
                "the towers and embedders excluded");
    }

    static Stream<Arguments> gemma4Cases() {
        return Stream.of(Arguments.of("gemma4-lora-default", lora()),
                Arguments.of("gemma4-dora", lora().targetModules("q_proj", "o_proj", "down_proj").useDora(true)));
    }
}
