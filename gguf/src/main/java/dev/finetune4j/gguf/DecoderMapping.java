package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Xielu;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.DenseMlp;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.LayerShapes;
import dev.finetune4j.core.models.decoder.MlpNames;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;

/**
 * A {@link DecoderModel}'s Hugging Face tensors under GGUF names ({@code blk.N.attn_q.weight} for
 * {@code model.layers.N.self_attn.q_proj.weight}), as llama.cpp's convert_hf_to_gguf.py maps them:
 * <ul>
 *   <li>{@code llama} and {@code mistral} become architecture {@code llama}, {@code granite} and {@code smollm3}
 *       their own, Granite 4's attention-only {@code granitemoehybrid} {@code granite} (its fused
 *       {@code shared_mlp.input_linear} split into {@code ffn_gate} and {@code ffn_up}, its {@code output_linear}
 *       {@code ffn_down}), and Granite 4.0 H (a {@code granitemoehybrid} with Mamba-2 layers) {@code granitehybrid}
 *       (its Mamba-2 layers as {@link MambaPlacements} places them, its MLP as Granite 4's), all of whose rotary
 *       embeddings rotate adjacent pairs: the rows of q_proj and k_proj are permuted within
 *       each head from Hugging Face's halves layout to that order; Llama 3's rope scaling becomes the
 *       {@code rope_freqs.weight} tensor;</li>
 *   <li>{@code qwen2}, {@code qwen3}, {@code gemma}, {@code gemma2}, {@code gemma3_text} ({@code gemma3}),
 *       {@code phi3}, {@code olmo2} and {@code olmo3} (both {@code olmo2}) keep their rows (llama.cpp rotates halves
 *       for them); Qwen2's q/k/v biases, q/k norms (OLMo's over the whole projection), Gemma 2 and 3's four norms per
 *       layer, OLMo's two (after the attention and the MLP, none before), and Phi-3's fused {@code qkv_proj} and
 *       {@code gate_up_proj} are mapped, Gemma's norms stored as {@code 1 + w}, Phi-3's longrope factors written as
 *       {@code rope_factors_long/short};</li>
 *   <li>the mixtures of experts {@code mixtral} (architecture {@code llama}, q/k permuted as Llama's),
 *       {@code qwen2_moe} ({@code qwen2moe}), {@code qwen3_moe} ({@code qwen3moe}) and {@code olmoe} (its rows kept,
 *       its q/k norms over the whole projection as OLMo 2's): each sparse layer's router
 *       becomes {@code ffn_gate_inp}, its experts' projections one 3-D tensor per kind ({@code ffn_gate_exps},
 *       {@code ffn_up_exps}, {@code ffn_down_exps}, expert by expert), Qwen2-MoE's shared expert
 *       {@code ffn_*_shexp} and its gate the vector {@code ffn_gate_inp_shexp};</li>
 *   <li>{@code gpt_oss} ({@code gpt-oss}, its rows kept): the o_proj bias, the sinks ({@code attn_sinks}), the norm
 *       before the experts as {@code post_attention_norm}, the router's bias, and the stacked experts split into
 *       gate, up and down projections with their biases ({@link #addStackedExperts}).</li>
 *   <li>{@code qwen3_5_text} ({@code qwen35}, its rows kept): the gated DeltaNet layers as
 *       {@link LinearAttentionPlacements} places them, the gated attention's {@code q_proj} (queries and gates) as it
 *       is, the norm before the MLP as {@code post_attention_norm}, and every RMSNorm but the DeltaNet's stored as
 *       {@code 1 + w}, as Gemma's;</li>
 *   <li>{@code qwen3_5_moe_text} ({@code qwen35moe}): Qwen3.5's layers as above, each with the mixture's router,
 *       stacked experts and gated shared expert, named as Qwen2-MoE's.</li>
 *   <li>{@code glm4_moe} ({@code glm4moe}, its rows kept: llama.cpp rotates halves of the rotary part for it) and
 *       {@code ernie4_5_moe} ({@code ernie4_5-moe}, its adjacent pairs kept): the leading dense layers as the dense
 *       models', each sparse layer's router with its selection bias ({@code exp_probs_b.bias}), stacked experts and
 *       ungated shared experts, GLM-4.5's MLP input norm as {@code post_attention_norm}. The multi-token-prediction
 *       layers, which the loaded model does not hold, are not written, as the converter leaves them out under
 *       {@code --no-mtp}.</li>
 *   <li>{@code qwen3_next} ({@code qwen3next}): Qwen3.5-MoE's layers as above, the DeltaNet's fused projections as
 *       {@link LinearAttentionPlacements} splits them, its value heads in Hugging Face's order.</li>
 *   <li>{@code deepseek_v3} and {@code deepseek_v2} ({@code deepseek2}): the multi-head latent attention as
 *       {@link LatentAttentionPlacements} places it, the leading dense layers as the dense models', each sparse layer's
 *       router (V3's with its selection bias), stacked experts and ungated shared experts as GLM-4.5's, the MLP's input
 *       norm as {@code ffn_norm}; V3's multi-token-prediction layers, which the loaded model does not hold, are not
 *       written, as the converter's {@code DeepseekV2Model} skips them ({@code skip_mtp}).</li>
 *   <li>{@code mistral4} ({@code mistral4}, deepseek2's graph): DeepSeek-V3's layers as above, a router without a
 *       selection bias, and the experts stacked in {@code gate_up_proj} and {@code down_proj} split into
 *       {@code ffn_gate_exps}, {@code ffn_up_exps} and {@code ffn_down_exps} ({@link #addStackedExperts}).</li>
 *   <li>{@code glm} ({@code chatglm}), {@code glm4}, {@code ernie4_5}, {@code cohere} ({@code command-r}) and
 *       {@code cohere2}, whose rotary embeddings turn adjacent pairs as llama.cpp's do for them, so their rows are
 *       kept: GLM's q/k/v biases and fused {@code gate_up_proj} (one {@code ffn_up} of [gate; up] rows, as Phi-3's),
 *       GLM-4's norm of the attention's output as {@code post_attention_norm}, its MLP's input norm
 *       ({@code post_attention_layernorm}) as {@code ffn_norm} and the norm of its output as {@code post_ffw_norm};
 *       Cohere's one LayerNorm per layer as {@code attn_norm}, its head always the token embeddings.</li>
 *   <li>{@code arcee} (its rows permuted as Llama's; its ungated {@code up_proj} alone as {@code ffn_up}),
 *       {@code apertus} (its ungated MLP as Arcee's, its q/k norms per head, its xIELU scalars as the
 *       {@code xielu.*} keys rather than tensors),
 *       {@code exaone4} (its norms after each sub-block as OLMo 2's, q/k norms per head), {@code seed_oss} (q/k/v
 *       biases, its MLP's input norm as {@code post_attention_norm}), {@code hunyuan_v1_dense} ({@code hunyuan-dense}: its {@code query_layernorm} and
 *       {@code key_layernorm} as {@code attn_q_norm} and {@code attn_k_norm}) and {@code starcoder2} (its LayerNorms'
 *       biases as {@code attn_norm.bias}, {@code ffn_norm.bias} and {@code output_norm.bias}, the o_proj bias, and
 *       its ungated {@code c_fc} and {@code c_proj} with their biases as {@code ffn_up} and {@code ffn_down}), the
 *       last four rotating halves as llama.cpp does for them, so keeping their rows.</li>
 *   <li>{@code lfm2} (its rows kept: llama.cpp rotates halves for it): the convolution layers as
 *       {@link ShortConvPlacements} places them, the attention layers' {@code out_proj}, {@code q_layernorm} and
 *       {@code k_layernorm} as {@code attn_output}, {@code attn_q_norm} and {@code attn_k_norm}, each layer's
 *       {@code operator_norm} as {@code attn_norm}, the MLP's {@code w1}, {@code w3} and {@code w2} as
 *       {@code ffn_gate}, {@code ffn_up} and {@code ffn_down}, and the final {@code embedding_norm} as
 *       {@code token_embd_norm}.</li>
 *   <li>{@code falcon_h1} ({@code falcon-h1}, its rows kept: llama.cpp rotates halves for it): each layer's attention
 *       and Mamba-2 mixer side by side, the mixer as {@link MambaPlacements} places it, its {@code input_layernorm}
 *       as {@code attn_norm}, {@code pre_ff_layernorm} as {@code ffn_norm} (without {@code .weight}, as llama.cpp
 *       reads it), {@code feed_forward}'s projections as
 *       {@code ffn_gate}, {@code ffn_up} and {@code ffn_down}, {@code final_layernorm} as {@code output_norm}, and its
 *       muP multipliers baked into the matrices ({@link BakedMultipliers}).</li>
 *   <li>{@code nemotron_h} (its attention has no position encoding, so its rows are kept): each layer's
 *       one {@code norm} as {@code attn_norm} whatever its block, the block's {@code mixer} as a Mamba-2 mixer
 *       ({@link MambaPlacements}), the attention's projections or the ungated MLP's {@code up_proj} and
 *       {@code down_proj} as {@code ffn_up} and {@code ffn_down}, {@code embeddings} as {@code token_embd} and
 *       {@code norm_f} as {@code output_norm}; with mixture layers {@code nemotron_h_moe}, each mixture's router,
 *       selection bias, gateless stacked experts and ungated shared expert as GLM-4.5's.</li>
 *   <li>{@code gemma4_text} ({@code gemma4}, its rows kept: llama.cpp rotates halves for it): Gemma 3's layers with
 *       their norms as they are, only the key and value projections each layer has, the per-layer inputs and
 *       {@code layer_scalar} as {@link Gemma4Placements} places them, and the full layers' "proportional" rotary as
 *       the computed {@code rope_freqs.weight} ({@link Gemma4Hyperparameters#ropeFreqs}); the mixture beside the
 *       MLP ({@code enable_moe_block}) as its router's placements and norms in {@link Gemma4Placements}, its
 *       stacked experts split as Mistral 4's ({@link #addStackedExperts}).</li>
 * </ul>
 * The architecture's keys and refusals are {@link DecoderHyperparameters}', from its row of
 * {@link LlamaCppArchitectures}. Every tensor of the model is taken once, whole or part by part (Granite 4's
 * input_linear, gpt-oss's stacked experts): one left over (an adapter that was not merged) fails the export. The same
 * placements name a LoRA adapter's tensors ({@link LoraMapping}).
 */
final class DecoderMapping implements ModelMapping {
    /** The router's selection bias as GLM-4.5's and ERNIE-4.5's checkpoints name it. */
    private static final String SELECTION_BIAS = "e_score_correction_bias";

    /**
     * The vision-language classes whose language model llama.cpp reads from a GGUF of its own, as the converter
     * writes it beside the vision tower's {@code mmproj} file: Gemma 3's as {@code gemma3}, Mistral 3's as its text
     * model's architecture.
     */
    private static final Set<DecoderLayout> TEXT_GGUF_LAYOUTS = Set.of(DecoderLayout.CAUSAL_LM,
            DecoderLayout.GEMMA3_CONDITIONAL_GENERATION, DecoderLayout.MISTRAL3_CONDITIONAL_GENERATION,
            DecoderLayout.GEMMA4_CONDITIONAL_GENERATION);

    private final DecoderModel model;
    private final DecoderConfig config;
    private final DecoderHyperparameters hyperparameters;
    /** Where the backbone's weights sit ({@code model.}, or {@code model.language_model.} in a vision-language class). */
    private final String backbone;

    DecoderMapping(DecoderModel model) {
        this.model = model;
        this.config = model.config();
        if (!TEXT_GGUF_LAYOUTS.contains(model.layout())) {
            throw new IllegalArgumentException("the model is the language model of a vision-language checkpoint "
                    + "(model_type '" + model.spec().modelType() + "'), whose text GGUF llama.cpp reads with the "
                    + "vision tower's position sections and deepstack inputs, which this export does not write: merge "
                    + "any adapter (finetune4j merge), save the folder and convert it with llama.cpp's "
                    + "convert_hf_to_gguf.py");
        }
        this.backbone = model.layout().backbonePrefix();
        this.hyperparameters = new DecoderHyperparameters(config);
    }

    @Override
    public String architecture() {
        return hyperparameters.graph().name();
    }

    /** What llama.cpp's graph of the model's GGUF architecture fixes. */
    LlamaCppArchitecture graph() {
        return hyperparameters.graph();
    }

    @Override
    public void putHyperparameters(GgufMetadata meta) {
        hyperparameters.put(meta);
        if (config.xielu()) {
            putXieluScalars(meta);
        }
    }

    /**
     * Apertus's xIELU: each layer's raw {@code alpha_p} and {@code alpha_n} (the graph takes their softplus, as the
     * model does) and the fixed {@code beta} and {@code eps}, as arrays over the layers under llama.cpp's global
     * {@code xielu.*} keys, as convert_hf_to_gguf.py writes them.
     */
    private void putXieluScalars(GgufMetadata meta) {
        Map<String, Tensor> weights = model.stateDict();
        int layers = config.numHiddenLayers();
        float[] alphaP = new float[layers];
        float[] alphaN = new float[layers];
        for (int i = 0; i < layers; i++) {
            alphaP[i] = weights.get(xieluScalar(i, "alpha_p")).toFloatArray()[0];
            alphaN[i] = weights.get(xieluScalar(i, "alpha_n")).toFloatArray()[0];
        }
        float[] beta = new float[layers];
        float[] eps = new float[layers];
        Arrays.fill(beta, Xielu.BETA);
        Arrays.fill(eps, Xielu.EPS);
        meta.putFloat32s("xielu.alpha_p", alphaP).putFloat32s("xielu.alpha_n", alphaN).putFloat32s("xielu.beta", beta)
                .putFloat32s("xielu.eps", eps);
    }

    private String xieluScalar(int layer, String name) {
        return backbone + "layers." + layer + ".mlp.act_fn." + name;
    }

    @Override
    public ModelLayout layout() {
        // llama-quantize counts the value and down projections it meets: none in a Mamba-2 or convolution layer, in
        // Nemotron-H's MLP layers no value projection and in its other layers no down projection, in Gemma 4's
        // kv-shared layers and its full layers of keys as values no value projection
        return ModelLayout.of(architecture(), config.numHiddenLayers(), config.numAttentionHeads(),
                config.numKeyValueHeads(), config.tieWordEmbeddings() && !BakedMultipliers.writesOwnOutput(config),
                config.moe() == null ? 0 : config.moe().numExperts(),
                placements().stream().map(Placement::ggufName).toList());
    }

    /**
     * Every weight's placement, in llama.cpp's order (the rotary factors, computed, are not among them), Falcon-H1's
     * multipliers baked in ({@link BakedMultipliers}).
     */
    @Override
    public List<Placement> placements() {
        List<Placement> out = new ArrayList<>();
        float normShift = config.gemmaNorms() ? 1f : 0f; // Gemma's and Qwen3.5's RMSNorms scale by 1 + w
        Placer put = (hf, gguf, order) -> out.add(new Placement(hf, gguf, order,
                hf.endsWith("norm.weight") ? normShift : 0f, false));
        put.add(backbone + config.embeddingsName() + ".weight", "token_embd.weight", null);
        if (config.gemma4() != null) {
            Gemma4Placements.addPerLayerInputTables(out, backbone, config.gemma4());
        }
        boolean permute = hyperparameters.reordersQueryKeyRows();
        IntUnaryOperator q = permute ? halvesToPairs(config.numAttentionHeads()) : null;
        IntUnaryOperator k = permute ? halvesToPairs(config.numKeyValueHeads()) : null;
        DecoderConfig.LayerNormNames norms = config.normNames();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String hf = backbone + "layers." + i + ".";
            String blk = "blk." + i + ".";
            if (config.blockPattern() != null) {
                addNemotronBlock(out, put, hf, blk, i, q, k);
                continue;
            }
            if (norms.input() != null) {
                addNorm(put, hf + norms.input(), blk + "attn_norm");
            }
            if (config.isLinearAttention(i)) {
                LinearAttentionPlacements.add(out, hf, blk, config.linearAttention());
            } else if (config.isMamba(i)) {
                MambaPlacements.add(out, hf + "mamba.", blk, config.mamba());
            } else if (config.isShortConv(i)) {
                ShortConvPlacements.add(out, hf, blk, config.hiddenSize(), config.shortConv().kernel());
            } else if (config.latentAttention() != null) {
                LatentAttentionPlacements.add(out, hf, blk, config.latentAttention(), config.numAttentionHeads(),
                        permute);
            } else {
                addAttention(put, hf + "self_attn.", blk, i, q, k);
            }
            if (config.parallelHybrid() != null) { // Falcon-H1's Mamba-2 mixer, beside the attention on the same input
                MambaPlacements.add(out, hf + "mamba.", blk, config.mamba());
            }
            if (norms.attentionOutput() != null) {
                put.add(hf + norms.attentionOutput() + ".weight", blk + "post_attention_norm.weight", null);
            }
            if (norms.mlpInput() != null) {
                // NOTE: gpt-oss's, qwen35's and seed_oss's graphs read their MLP's input norm as post_attention_norm
                boolean readAsPostAttention = norms.attentionOutput() == null
                        && hyperparameters.graph().mlpNormAsPostAttention();
                String mlpNorm = blk + (readAsPostAttention ? "post_attention_norm" : "ffn_norm");
                if (hyperparameters.graph().unsuffixedMlpNorm()) {
                    put.add(hf + norms.mlpInput() + ".weight", mlpNorm, null);
                } else {
                    addNorm(put, hf + norms.mlpInput(), mlpNorm);
                }
            }
            if (norms.mlpOutput() != null) {
                put.add(hf + norms.mlpOutput() + ".weight", blk + "post_ffw_norm.weight", null);
            }
            if (config.isSparse(i) && config.moe().naming().besideMlp()) {
                // Gemma 4's mixture beside the MLP: both, each between its own norms
                addDenseMlp(out, put, hf, blk);
                Gemma4Placements.addMixtureNorms(out, hf, blk);
                addMixture(out, hf, blk);
            } else if (config.isSparse(i)) {
                addMixture(out, hf, blk);
            } else {
                addDenseMlp(out, put, hf, blk);
            }
            if (config.gemma4() != null) {
                Gemma4Placements.addLayerOutput(out, hf, blk, config.gemma4());
            }
        }
        // output_norm, or token_embd_norm in llama.cpp's lfm2
        addNorm(put, backbone + config.finalNorm(), hyperparameters.graph().finalNorm());
        if (!config.tieWordEmbeddings()) {
            put.add("lm_head.weight", "output.weight", null); // absent: llama.cpp reuses token_embd
        } else if (BakedMultipliers.writesOwnOutput(config)) {
            // the tied embeddings once more, all their rows, to be baked with the head's multiplier
            out.add(Placement.part(backbone + "embed_tokens.weight", "output.weight", 0, config.vocabSize()));
        }
        return BakedMultipliers.bake(out, config);
    }

    /**
     * Nemotron-H's layer of one block: its norm as {@code attn_norm} whatever the block (llama.cpp's nemotron_h reads
     * every block's so), then its {@code mixer}: a Mamba-2 mixer, self-attention or the MLP.
     */
    private void addNemotronBlock(List<Placement> out, Placer put, String hf, String blk, int layer,
                                  IntUnaryOperator q, IntUnaryOperator k) {
        addNorm(put, hf + "norm", blk + "attn_norm");
        switch (config.blockPattern().kind(layer)) {
            case MAMBA -> MambaPlacements.add(out, hf + "mixer.", blk, config.mamba());
            case ATTENTION -> addAttention(put, hf + "mixer.", blk, layer, q, k);
            case MLP -> addDenseMlp(out, put, hf, blk);
            case MOE -> addMixture(out, hf, blk);
        }
    }

    /** A dense MLP's projections and biases, under its module ({@link DenseMlp#module}). */
    private void addDenseMlp(List<Placement> out, Placer put, String hf, String blk) {
        DenseMlp mlp = config.denseMlp();
        String m = hf + mlp.module() + ".";
        if (mlp.fusedGateUp() && hyperparameters.graph().fusedGateUp()) {
            put.add(m + mlp.gateUp() + ".weight", blk + "ffn_up.weight", null); // [gate; up], llama.cpp's order
        } else if (mlp.fusedGateUp()) {
            // Granite 4's input_linear [2I, C]: the converter writes its gate rows and its up rows apart
            String fused = m + mlp.gateUp() + ".weight";
            int width = config.intermediateSize();
            out.add(Placement.part(fused, blk + "ffn_gate.weight", 0, width));
            out.add(Placement.part(fused, blk + "ffn_up.weight", width, width));
        } else {
            if (mlp.gated()) {
                put.add(m + mlp.names().gate() + ".weight", blk + "ffn_gate.weight", null);
            }
            put.add(m + mlp.names().up() + ".weight", blk + "ffn_up.weight", null);
        }
        put.add(m + mlp.names().down() + ".weight", blk + "ffn_down.weight", null);
        if (config.mlpBias()) {
            // StarCoder2's c_fc and c_proj, the only MLP biases exported (an ungated MLP's)
            put.add(m + mlp.names().up() + ".bias", blk + "ffn_up.bias", null);
            put.add(m + mlp.names().down() + ".bias", blk + "ffn_down.bias", null);
        }
    }

    /**
     * Self-attention layer {@code layer}'s projections, q/k norms, biases and sinks under its module {@code a}
     * ({@code model.layers.N.self_attn.}; {@code q}, {@code k}: their row orders); a Gemma 4 layer's key and value
     * projections and key norm where it has them ({@link LayerShapes}).
     */
    private void addAttention(Placer put, String a, String blk, int layer, IntUnaryOperator q, IntUnaryOperator k) {
        LayerShapes shapes = config.layerShapes();
        if (config.fusedProjections()) {
            put.add(a + "qkv_proj.weight", blk + "attn_qkv.weight", null); // Phi-3: [q; k; v]
        } else {
            // Qwen3.5's gated attention: each head's D query rows, then its D gate rows, as llama.cpp reads them
            put.add(a + "q_proj.weight", blk + "attn_q.weight", q);
            if (shapes.projectsKeyValues(layer)) {
                put.add(a + "k_proj.weight", blk + "attn_k.weight", k);
            }
            if (shapes.hasValueProjection(layer)) {
                put.add(a + "v_proj.weight", blk + "attn_v.weight", null);
            }
        }
        if (config.attentionBias()) {
            for (String p : List.of("q", "k", "v")) {
                put.add(a + p + "_proj.bias", blk + "attn_" + p + ".bias", null);
            }
        }
        DecoderConfig.AttentionNames names = config.attentionNames();
        if (config.qkNorm() != DecoderConfig.QkNorm.NONE) {
            put.add(a + names.queryNorm() + ".weight", blk + "attn_q_norm.weight", null);
            if (shapes.projectsKeyValues(layer)) {
                put.add(a + names.keyNorm() + ".weight", blk + "attn_k_norm.weight", null);
            }
        }
        put.add(a + names.output() + ".weight", blk + "attn_output.weight", null);
        if (config.outputBias()) {
            put.add(a + "o_proj.bias", blk + "attn_output.bias", null); // gpt-oss's, StarCoder2's
        }
        if (config.attentionSinks()) {
            put.add(a + "sinks", blk + "attn_sinks.weight", null); // gpt-oss: one logit per head
        }
    }

    /** A norm's weight as {@code <gguf>.weight}, and a LayerNorm's bias (StarCoder2's) as {@code <gguf>.bias}. */
    private void addNorm(Placer put, String hf, String gguf) {
        put.add(hf + ".weight", gguf + ".weight", null);
        if (config.normKind() == DecoderConfig.NormKind.LAYER) {
            put.add(hf + ".bias", gguf + ".bias", null);
        }
    }

    /**
     * A sparse layer's router ({@code ffn_gate_inp}, ggml dims [C, E], with gpt-oss's bias) and its selection bias
     * ({@code exp_probs_b.bias}, the vector [E]: GLM-4.5's {@code gate.e_score_correction_bias}, ERNIE-4.5's
     * {@code moe_statics} one of (1, E)), its experts' projections stacked per kind ({@code ffn_gate_exps} and
     * {@code ffn_up_exps} [C, I, E], {@code ffn_down_exps} [I, C, E]; from one matrix per expert, or split from the
     * stacked parameters by {@link #addStackedExperts}) and the shared experts {@code ffn_{gate,up,down}_shexp}:
     * Qwen2-MoE's and Qwen3.5-MoE's {@code shared_expert} with its gate ({@code ffn_gate_inp_shexp}, written as the
     * vector [C]), GLM-4.5's, ERNIE-4.5's, DeepSeek's and Mistral 4's ungated {@code shared_experts}.
     */
    private void addMixture(List<Placement> out, String hf, String blk) {
        MoeConfig moe = config.moe();
        String block = moe.naming().besideMlp() ? hf : hf + moe.naming().block() + ".";
        String router = block + moe.naming().router() + ".";
        if (moe.naming() == MoeConfig.Naming.GEMMA4) {
            Gemma4Placements.addRouter(out, router, blk);
        } else {
            out.add(Placement.plain(router + "weight", blk + "ffn_gate_inp.weight"));
        }
        if (moe.naming().routerBias()) {
            out.add(Placement.plain(router + "bias", blk + "ffn_gate_inp.bias")); // gpt-oss's
        }
        String selectionBias = switch (moe.routing().selectionBias()) {
            case ROUTER -> "gate." + SELECTION_BIAS;
            case STATICS -> "moe_statics." + SELECTION_BIAS;
            case NONE, BLOCK -> null; // LFM2-MoE's block bias: lfm2moe does not export
        };
        if (selectionBias != null) {
            out.add(Placement.reordered(block + selectionBias, blk + "exp_probs_b.bias", null, null,
                    Placement.Values.NONE, new Placement.View(b -> b.reshape(moe.numExperts()))));
        }
        MlpNames names = moe.naming().expert();
        if (moe.naming().stacked()) {
            addStackedExperts(out, block, blk);
        } else {
            for (String[] kind : List.of(new String[] {names.gate(), "gate"}, new String[] {names.up(), "up"},
                    new String[] {names.down(), "down"})) {
                if (kind[0] == null) {
                    continue; // Nemotron-H's experts have no gate, nor its shared expert
                }
                for (int e = 0; e < moe.numExperts(); e++) {
                    out.add(Placement.expert(block + "experts." + e + "." + kind[0] + ".weight",
                            blk + "ffn_" + kind[1] + "_exps.weight", e));
                }
            }
        }
        if (moe.sharedExpertIntermediateSize() > 0) {
            String shared = moe.sharedExpertGated() ? "shared_expert" : "shared_experts";
            if (moe.sharedExpertGated()) {
                out.add(Placement.plain(block + "shared_expert_gate.weight", blk + "ffn_gate_inp_shexp.weight"));
            }
            boolean gated = names == null || names.gate() != null;
            for (String kind : gated ? List.of("gate", "up", "down") : List.of("up", "down")) {
                out.add(Placement.plain(block + shared + "." + kind + "_proj.weight",
                        blk + "ffn_" + kind + "_shexp.weight"));
            }
        }
    }

    /**
     * The stacked experts split as llama.cpp reads them ({@link StackedExpertViews}): {@code ffn_gate_exps} and
     * {@code ffn_up_exps} [C, I, E], {@code ffn_down_exps} [I, C, E]; gpt-oss's interleaved gate and up columns with
     * their biases ([I, E] each, and [C, E] for down), Mistral 4's and Gemma 4's gate and up rows apart. NOTE:
     * llama.cpp's converter writes their gate_up_proj whole, as {@code ffn_gate_up_exps}, which llama.cpp reads in place
     * of the two; split, they are named and quantized as every other mixture's (llama-quantize counts a fused tensor as a gate).
     */
    private void addStackedExperts(List<Placement> out, String block, String blk) {
        String gateUp = block + "experts." + FusedExperts.GATE_UP;
        String down = block + "experts." + FusedExperts.DOWN;
        boolean gptOss = config.moe().naming() == MoeConfig.Naming.GPT_OSS;
        for (int part : new int[] {StackedExpertViews.GATE, StackedExpertViews.UP}) {
            String kind = blk + (part == StackedExpertViews.GATE ? "ffn_gate_exps." : "ffn_up_exps.");
            for (int e = 0; e < config.moe().numExperts(); e++) {
                out.add(Placement.selected(gateUp, kind + "weight", e, gptOss
                        ? StackedExpertViews.interleavedProjection(e, part) : StackedExpertViews.weightHalf(e, part)));
            }
            if (gptOss) {
                out.add(Placement.selected(gateUp + "_bias", kind + "bias", -1, StackedExpertViews.interleavedBias(part)));
            }
        }
        for (int e = 0; e < config.moe().numExperts(); e++) {
            out.add(Placement.selected(down, blk + "ffn_down_exps.weight", e, gptOss
                    ? StackedExpertViews.transposedExpert(e) : StackedExpertViews.expertWeight(e)));
        }
        if (gptOss) {
            out.add(Placement.plain(down + "_bias", blk + "ffn_down_exps.bias"));
        }
    }

    /** Adds a placement; norms get the family's shift. */
    @FunctionalInterface
    private interface Placer {
        void add(String hfName, String ggufName, IntUnaryOperator rowOrder);
    }

    @Override
    public List<GgufTensor> tensors(GgufType type, boolean importanceMatrix) {
        hyperparameters.refuseUncheckedType(type);
        List<GgufTensor> out = new ArrayList<>();
        if (config.rope().ropeType().equals("llama3")) {
            out.add(vector("rope_freqs.weight", Llama3RopeFactors.of(config.rope(), config.headDim())));
        }
        if (config.rope().ropeType().equals("longrope")) {
            out.add(vector("rope_factors_long.weight", floats(config.rope().longFactor())));
            out.add(vector("rope_factors_short.weight", floats(config.rope().shortFactor())));
        }
        float[] proportional = config.gemma4() == null ? null : Gemma4Hyperparameters.ropeFreqs(config);
        if (proportional != null) {
            out.add(vector("rope_freqs.weight", proportional)); // the full layers' "proportional" rotary
        }
        Map<String, Tensor> weights = new LinkedHashMap<>(model.stateDict());
        if (config.xielu()) { // xIELU's scalars travel as keys (putHyperparameters)
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                weights.remove(xieluScalar(i, "alpha_p"));
                weights.remove(xieluScalar(i, "alpha_n"));
            }
        }
        Placement.takeAll(weights, placements(), type, layout().withImportanceMatrix(importanceMatrix)).stream()
                .map(DecoderMapping::asDeclared).forEach(out::add);
        return out;
    }

    /**
     * The tensor with the dimensions llama.cpp declares for it: Qwen2-MoE's shared-expert gate, (1, C) in the model,
     * is the vector {n_embd} in qwen2moe.cpp and qwen35moe.cpp, and llama-quantize writes it so (the same ggml shape,
     * one dimension).
     */
    private static GgufTensor asDeclared(GgufTensor t) {
        return t.name().endsWith(".ffn_gate_inp_shexp.weight")
                ? new GgufTensor(t.name(), new long[] {t.dims()[0]}, t.type(), t.rows(), t.importance()) : t;
    }

    /** A float32 vector computed at export time (rotary factors). */
    private static GgufTensor vector(String name, float[] values) {
        return new GgufTensor(name, new long[] {values.length}, GgmlType.F32, TensorRows.of(values));
    }

    private static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /**
     * File row r of a q or k projection of {@code heads} heads of size D, for llama.cpp's rotation of adjacent pairs:
     * within each head, row 2i is Hugging Face's row i (the first half) and row 2i + 1 its row D/2 + i (the second
     * half), as convert_hf_to_gguf.py's {@code permute} reorders them.
     */
    private IntUnaryOperator halvesToPairs(int heads) {
        int d = config.headDim();
        return r -> {
            int head = r / d;
            int within = r % d;
            return head * d + (within % 2) * (d / 2) + within / 2;
        };
    }
}
