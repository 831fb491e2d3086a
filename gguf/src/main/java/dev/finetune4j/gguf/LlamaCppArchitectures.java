package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.gguf.LlamaCppArchitecture.Biases;
import dev.finetune4j.gguf.LlamaCppArchitecture.HeadSize;
import dev.finetune4j.gguf.LlamaCppArchitecture.Mixture;
import dev.finetune4j.gguf.LlamaCppArchitecture.OutputHead;
import dev.finetune4j.gguf.LlamaCppArchitecture.OwnChecks;
import dev.finetune4j.gguf.LlamaCppArchitecture.Renormalisation;
import dev.finetune4j.gguf.LlamaCppArchitecture.RotaryLayers;
import dev.finetune4j.gguf.LlamaCppArchitecture.RotaryPairs;
import dev.finetune4j.gguf.LlamaCppArchitecture.Router;
import dev.finetune4j.gguf.LlamaCppArchitecture.ScaleKeys;
import dev.finetune4j.gguf.LlamaCppArchitecture.SharedExperts;
import dev.finetune4j.gguf.LlamaCppArchitecture.SlidingWindow;
import dev.finetune4j.gguf.LlamaCppArchitecture.SoftCaps;
import dev.finetune4j.gguf.LlamaCppArchitecture.SparseLayers;
import dev.finetune4j.gguf.LlamaCppArchitecture.TemperatureStep;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The GGUF architectures the decoders export to, one {@link LlamaCppArchitecture} row each: what most of llama.cpp's
 * graphs share (halves rotated in every layer of whole heads, {@code default} and {@code linear} scaling, SiLU, no
 * biases, no sliding window, either output head) and, per architecture, what its graph does otherwise.
 */
final class LlamaCppArchitectures {
    /** Granite 4.0 H's architecture: a {@code granitemoehybrid} with Mamba-2 layers (without any, granite). */
    static final String GRANITE_HYBRID = "granitehybrid";
    /** Nemotron-H's architecture once some layers are mixtures of experts (without any, nemotron_h). */
    static final String NEMOTRON_H_MOE = "nemotron_h_moe";
    private static final Set<String> LLAMA3_ROPES = Set.of("default", "linear", "llama3");
    private static final Set<String> YARN_ROPES = Set.of("default", "linear", "yarn");

    private static final Map<String, LlamaCppArchitecture> BY_NAME = index(
            // Mistral's window is dropped by the converter; Mixtral's routing weights renormalised
            graph("llama").adjacentPairs().ropeTypes(LLAMA3_ROPES).slidingWindow(SlidingWindow.DROPPED)
                    .writesVocabSize(),
            // Ministral 3: llama's layers, YaRN, and Llama 4's temperature on the queries
            graph("mistral3").adjacentPairs().ropeTypes(YARN_ROPES).writesVocabSize()
                    .temperatureStep(TemperatureStep.ORIGINAL_CONTEXT_LENGTH),
            graph("qwen2").biases(Biases.QKV),
            graph("qwen2moe").biases(Biases.QKV).outputHead(OutputHead.OWN).renormalisation(Renormalisation.NEVER)
                    .expertWidthKey().sharedExperts(SharedExperts.GATED),
            graph("qwen3"),
            graph("qwen3moe").expertWidthKey(),
            graph("gemma").activation(Activations.Kind.GELU_TANH).outputHead(OutputHead.TIED),
            graph("gemma2").activation(Activations.Kind.GELU_TANH).outputHead(OutputHead.TIED)
                    .softCaps(SoftCaps.BOTH_REQUIRED).widerScaleDepth(46).slidingWindow(SlidingWindow.APPLIED),
            graph("gemma3").activation(Activations.Kind.GELU_TANH).softCaps(SoftCaps.FINAL).widerScaleDepth(62)
                    .slidingWindow(SlidingWindow.APPLIED),
            // Gemma 4: unscaled scores, heads of each layer kind's shape, the full layers' "proportional" rotary as
            // rope_freqs, per-layer inputs whose model projection takes no adapter, kv-shared layers; the mixture
            // beside the MLP (gemma-4-26B-A4B) a softmax router renormalised, its experts sized by their own key; its
            // K-quant mixes are llama-quantize's (per_layer_token_embd as the tied head, per_layer_model_proj float32)
            graph("gemma4").activation(Activations.Kind.GELU_TANH).softCaps(SoftCaps.FINAL)
                    .slidingWindow(SlidingWindow.REQUIRED).ropeTypes(Set.of("default", "proportional"))
                    .ownChecks(OwnChecks.GEMMA4).adapterlessMatrices("per_layer_model_proj")
                    .expertWidthKey(),
            graph("phi3").partialRotary().ropeTypes(Set.of("default", "longrope")).slidingWindow(SlidingWindow.IGNORED)
                    .fusedGateUp(),
            granite("granite"),
            granite(GRANITE_HYBRID),
            // OLMo 2 and 3
            graph("olmo2").headSize(HeadSize.HIDDEN_BY_HEADS).outputHead(OutputHead.OWN)
                    .slidingWindow(SlidingWindow.APPLIED).slidingRotaryAsFull(),
            graph("olmoe").headSize(HeadSize.HIDDEN_BY_HEADS).keyNormOfHiddenSize().outputHead(OutputHead.OWN)
                    .slidingRotaryAsFull().renormalisation(Renormalisation.NEVER),
            graph("smollm3").adjacentPairs().rotaryLayers(RotaryLayers.ALL_BUT_EVERY_FOURTH),
            // (its K-quant mixes not yet compared with llama-quantize's files)
            graph("gpt-oss").ropeTypes(YARN_ROPES).acceptsUnroundedYarnRamp().biases(Biases.ATTENTION)
                    .expertsOwnActivation().outputHead(OutputHead.OWN).slidingWindow(SlidingWindow.APPLIED)
                    .mlpNormAsPostAttention().expertWidthKey().kQuantMixesUnchecked()
                    .ownChecks(OwnChecks.GPT_OSS),
            // the partial rotary embedding is interleaved M-RoPE, its sections written for text
            graph("qwen35").partialRotary().ropeSections().requiresPerHeadQkNorms().mlpNormAsPostAttention(),
            graph("qwen35moe").partialRotary().ropeSections().requiresPerHeadQkNorms().mlpNormAsPostAttention()
                    .expertWidthKey().sharedExperts(SharedExperts.GATED).withoutDenseWidth(),
            // Qwen3-Next: Qwen3.5-MoE's layers with a partial rotary embedding of halves, and a dense width
            graph("qwen3next").partialRotary().requiresPerHeadQkNorms().mlpNormAsPostAttention().expertWidthKey()
                    .sharedExperts(SharedExperts.GATED),
            // GLM and GLM-4 rotate the first half of each head
            graph("chatglm").adjacentPairs().partialRotary().biases(Biases.QKV).headSize(HeadSize.FILLS_HIDDEN)
                    .fusedGateUp(),
            graph("glm4").adjacentPairs().partialRotary().biases(Biases.QKV).fusedGateUp(),
            graph("ernie4_5").adjacentPairs().biases(Biases.QKV_UNDER_USE_BIAS),
            // GLM-4.5: its partial rotary embedding rotates halves, its MLP's input norm is read as post_attention_norm
            graph("glm4moe").partialRotary().biases(Biases.QKV).mlpNormAsPostAttention().router(Router.KEYED)
                    .renormalisation(Renormalisation.KEYED).expertWidthKey().sharedExperts(SharedExperts.COUNTED)
                    .sparseLayers(SparseLayers.AFTER_LEADING_DENSE),
            latentAttention("deepseek2"),
            // Mistral 4: llama.cpp's mistral4 is deepseek2's loader and graph under another name (src/models/models.h)
            latentAttention("mistral4"),
            graph("ernie4_5-moe").adjacentPairs().biases(Biases.QKV_UNDER_USE_BIAS)
                    .router(Router.SOFTMAX_SELECTION_BIAS).expertWidthKey().sharedExperts(SharedExperts.UNGATED)
                    .sparseLayers(SparseLayers.AFTER_LEADING_DENSE_BY_STEP),
            // Cohere's bias-free LayerNorms before parallel sub-blocks are its config's; Command R+'s depth needs q/k norms
            graph("command-r").adjacentPairs().qkNormsFromDepth(64).namesMissingOutputBias()
                    .headSize(HeadSize.FILLS_HIDDEN).outputHead(OutputHead.TIED).scaleKeys(ScaleKeys.COHERE),
            graph("cohere2").adjacentPairs().rotaryLayers(RotaryLayers.SLIDING_ONLY).namesMissingOutputBias()
                    .headSize(HeadSize.FILLS_HIDDEN).slidingWindow(SlidingWindow.REQUIRED).outputHead(OutputHead.TIED)
                    .scaleKeys(ScaleKeys.COHERE).writesVocabSize(),
            graph("exaone4").rotaryLayers(RotaryLayers.SLIDING_ONLY).namesMissingOutputBias()
                    .headSize(HeadSize.FILLS_HIDDEN).slidingWindow(SlidingWindow.APPLIED).windowDepth(64)
                    .writesVocabSize(),
            graph("seed_oss").biases(Biases.QKV).mlpNormAsPostAttention(),
            // Hunyuan's NTK alpha (rope_type dynamic) is written into the base, as the converter does
            graph("hunyuan-dense").ropeTypes(Set.of("default", "linear", "dynamic")).namesMissingOutputBias(),
            graph("starcoder2").biases(Biases.EVERY_PROJECTION).headSize(HeadSize.FILLS_HIDDEN)
                    .activation(Activations.Kind.GELU_TANH).slidingWindow(SlidingWindow.DROPPED),
            graph("arcee").adjacentPairs().ropeTypes(YARN_ROPES).namesMissingOutputBias()
                    .activation(Activations.Kind.RELU2),
            // Apertus: Llama's layers with per-head q/k norms, rotating halves; its MLP's xIELU takes each layer's
            // scalars from the xielu.* keys (no Activations.Kind: they are the model's weights)
            graph("apertus").ropeTypes(LLAMA3_ROPES).requiresPerHeadQkNorms().outputHead(OutputHead.OWN)
                    .activation(null),
            // LFM2's final norm (embedding_norm) is read as token_embd_norm, as the converter names it
            graph("lfm2").headSize(HeadSize.FILLS_HIDDEN).finalNorm("token_embd_norm").writesVocabSize()
                    .requiresConvolutionKernel(),
            // Falcon-H1: attention (rotating halves, LLAMA_ROPE_TYPE_NEOX) and a Mamba-2 mixer beside it in every layer;
            // the muP multipliers are baked into the matrices (BakedMultipliers), its graph has no key for them
            // its pre_ff_layernorm is blk.N.ffn_norm, without .weight, as the converter names it and the graph reads it
            graph("falcon-h1").writesVocabSize().unsuffixedMlpNorm(),
            // Nemotron-H: one block per layer (Mamba-2, attention without position encoding or a squared-ReLU MLP),
            // its kind told by the per-layer attention.head_count_kv and feed_forward_length; its K-quant mixes count
            // only the MLP layers' down projections, as llama-quantize does
            graph("nemotron_h").rotaryLayers(RotaryLayers.NONE).activation(Activations.Kind.RELU2),
            // its mixture layers: a sigmoid router with the selection bias, groups, scale and renormalisation as keyed,
            // gateless squared-ReLU experts beside an ungated shared expert (its K-quant mixes not compared with
            // llama-quantize's files: no seed of a wide case tried kept the 73 tokens' expert choices clear of ties)
            graph(NEMOTRON_H_MOE).rotaryLayers(RotaryLayers.NONE).activation(Activations.Kind.RELU2)
                    .router(Router.KEYED).renormalisation(Renormalisation.KEYED).expertWidthKey()
                    .sharedExperts(SharedExperts.UNGATED).sparseLayers(SparseLayers.FEED_FORWARD_LAYERS)
                    .kQuantMixesUnchecked());

    private LlamaCppArchitectures() {
    }

    /**
     * The row of GGUF architecture {@code name}.
     *
     * @throws IllegalArgumentException for an architecture without a row
     */
    static LlamaCppArchitecture of(String name) {
        LlamaCppArchitecture row = BY_NAME.get(name);
        if (row == null) {
            throw new IllegalArgumentException("no llama.cpp architecture '" + name + "' in the table of "
                    + BY_NAME.keySet() + ": add its row to LlamaCppArchitectures");
        }
        return row;
    }

    /** The architectures with a row. */
    static Set<String> names() {
        return BY_NAME.keySet();
    }

    /** Granite's graphs ({@code granite}, {@code granitehybrid}), which rotate every layer or none and share its scales. */
    private static Row granite(String name) {
        return graph(name).adjacentPairs().ropeTypes(LLAMA3_ROPES).rotaryLayers(RotaryLayers.EVERY_OR_NONE)
                .scaleKeys(ScaleKeys.GRANITE);
    }

    /**
     * DeepSeek-V2's and V3's graph (src/models/deepseek2.cpp), which mistral4 shares: rotary over the last
     * qk_rope_head_dim of each head in adjacent pairs, the queries' and latent's projections multiplied without
     * adapters, the router as its keys say, and Llama 4's temperature stepping by {@code attention.temperature_length}.
     */
    private static Row latentAttention(String name) {
        return graph(name).adjacentPairs().partialRotary().ropeTypes(YARN_ROPES).router(Router.KEYED)
                .renormalisation(Renormalisation.KEYED).expertWidthKey().sharedExperts(SharedExperts.COUNTED)
                .sparseLayers(SparseLayers.AFTER_LEADING_DENSE).writesVocabSize().ownChecks(OwnChecks.LATENT_ATTENTION)
                .temperatureStep(TemperatureStep.TEMPERATURE_LENGTH)
                .adapterlessMatrices("attn_q_a", "attn_q_b", "attn_q", "attn_kv_a_mqa", "attn_k_b", "attn_v_b");
    }

    private static Row graph(String name) {
        return new Row(name);
    }

    private static Map<String, LlamaCppArchitecture> index(Row... rows) {
        Map<String, LlamaCppArchitecture> out = new TreeMap<>();
        Stream.of(rows).map(Row::build).forEach(row -> {
            if (out.put(row.name(), row) != null) {
                throw new IllegalStateException("two rows for llama.cpp architecture " + row.name());
            }
        });
        return Map.copyOf(out);
    }

    /** A row being written: the shared defaults until a method says otherwise. */
    private static final class Row {
        private final String name;
        private RotaryPairs rotaryPairs = RotaryPairs.HALVES;
        private boolean partialRotary;
        private Set<String> ropeTypes = Set.of("default", "linear");
        private RotaryLayers rotaryLayers = RotaryLayers.EVERY;
        private boolean acceptsUnroundedYarnRamp;
        private HeadSize headSize = HeadSize.FREE;
        private boolean keyNormOfHiddenSize;
        private boolean requiresPerHeadQkNorms;
        private int qkNormsFromDepth;
        private Biases biases = Biases.NONE;
        private boolean namesMissingOutputBias;
        private SoftCaps softCaps = SoftCaps.NONE;
        private int widerScaleDepth;
        private SlidingWindow slidingWindow = SlidingWindow.REFUSED;
        private int windowDepth;
        private boolean slidingRotaryAsFull;
        private Activations.Kind activation = Activations.Kind.SILU;
        private boolean fusedGateUp;
        private boolean mlpNormAsPostAttention;
        private boolean unsuffixedMlpNorm;
        private Router router = Mixture.RENORMALISED.router();
        private Renormalisation renormalisation = Mixture.RENORMALISED.renormalisation();
        private boolean expertWidthKey;
        private SharedExperts sharedExperts = SharedExperts.NONE;
        private SparseLayers sparseLayers = SparseLayers.EVERY;
        private OutputHead outputHead = OutputHead.EITHER;
        private String finalNorm = "output_norm";
        private ScaleKeys scaleKeys = ScaleKeys.NONE;
        private boolean writesVocabSize;
        private boolean writesDenseWidth = true;
        private boolean requiresConvolutionKernel;
        private boolean kQuantMixesChecked = true;
        private OwnChecks ownChecks = OwnChecks.NONE;
        private boolean ropeSections;
        private TemperatureStep temperatureStep = TemperatureStep.NONE;
        private Set<String> adapterlessMatrices = Set.of();

        private Row(String name) {
            this.name = name;
        }

        Row adjacentPairs() {
            rotaryPairs = RotaryPairs.ADJACENT;
            return this;
        }

        Row partialRotary() {
            partialRotary = true;
            return this;
        }

        Row ropeTypes(Set<String> types) {
            ropeTypes = types;
            return this;
        }

        Row rotaryLayers(RotaryLayers layers) {
            rotaryLayers = layers;
            return this;
        }

        Row acceptsUnroundedYarnRamp() {
            acceptsUnroundedYarnRamp = true;
            return this;
        }

        Row headSize(HeadSize size) {
            headSize = size;
            return this;
        }

        Row keyNormOfHiddenSize() {
            keyNormOfHiddenSize = true;
            return this;
        }

        Row requiresPerHeadQkNorms() {
            requiresPerHeadQkNorms = true;
            return this;
        }

        Row qkNormsFromDepth(int layers) {
            qkNormsFromDepth = layers;
            return this;
        }

        Row biases(Biases kind) {
            biases = kind;
            return this;
        }

        Row namesMissingOutputBias() {
            namesMissingOutputBias = true;
            return this;
        }

        Row softCaps(SoftCaps caps) {
            softCaps = caps;
            return this;
        }

        Row widerScaleDepth(int layers) {
            widerScaleDepth = layers;
            return this;
        }

        Row slidingWindow(SlidingWindow window) {
            slidingWindow = window;
            return this;
        }

        Row windowDepth(int layers) {
            windowDepth = layers;
            return this;
        }

        Row slidingRotaryAsFull() {
            slidingRotaryAsFull = true;
            return this;
        }

        Row activation(Activations.Kind kind) {
            activation = kind;
            return this;
        }

        /** The MLP's activation is its experts' own, whatever hidden_act says (gpt-oss's clamped SwiGLU). */
        Row expertsOwnActivation() {
            activation = null;
            return this;
        }

        Row fusedGateUp() {
            fusedGateUp = true;
            return this;
        }

        Row mlpNormAsPostAttention() {
            mlpNormAsPostAttention = true;
            return this;
        }

        Row router(Router kind) {
            router = kind;
            return this;
        }

        Row renormalisation(Renormalisation kind) {
            renormalisation = kind;
            return this;
        }

        Row expertWidthKey() {
            expertWidthKey = true;
            return this;
        }

        Row sharedExperts(SharedExperts kind) {
            sharedExperts = kind;
            return this;
        }

        Row sparseLayers(SparseLayers kind) {
            sparseLayers = kind;
            return this;
        }

        Row outputHead(OutputHead head) {
            outputHead = head;
            return this;
        }

        Row unsuffixedMlpNorm() {
            unsuffixedMlpNorm = true;
            return this;
        }

        Row finalNorm(String ggufName) {
            finalNorm = ggufName;
            return this;
        }

        Row scaleKeys(ScaleKeys keys) {
            scaleKeys = keys;
            return this;
        }

        Row writesVocabSize() {
            writesVocabSize = true;
            return this;
        }

        Row withoutDenseWidth() {
            writesDenseWidth = false;
            return this;
        }

        Row requiresConvolutionKernel() {
            requiresConvolutionKernel = true;
            return this;
        }

        Row kQuantMixesUnchecked() {
            kQuantMixesChecked = false;
            return this;
        }

        Row ownChecks(OwnChecks checks) {
            ownChecks = checks;
            return this;
        }

        Row ropeSections() {
            ropeSections = true;
            return this;
        }

        Row temperatureStep(TemperatureStep step) {
            temperatureStep = step;
            return this;
        }

        Row adapterlessMatrices(String... names) {
            adapterlessMatrices = Set.of(names);
            return this;
        }

        LlamaCppArchitecture build() {
            return new LlamaCppArchitecture(name, rotaryPairs, partialRotary, ropeTypes, rotaryLayers,
                    acceptsUnroundedYarnRamp, headSize, keyNormOfHiddenSize, requiresPerHeadQkNorms, qkNormsFromDepth,
                    biases, namesMissingOutputBias, softCaps, widerScaleDepth, slidingWindow, windowDepth,
                    slidingRotaryAsFull, activation, fusedGateUp, mlpNormAsPostAttention, unsuffixedMlpNorm,
                    new Mixture(router, renormalisation, expertWidthKey, sharedExperts, sparseLayers), outputHead,
                    finalNorm, scaleKeys, writesVocabSize, writesDenseWidth, requiresConvolutionKernel,
                    kQuantMixesChecked, ownChecks, ropeSections, temperatureStep, adapterlessMatrices);
        }
    }
}
