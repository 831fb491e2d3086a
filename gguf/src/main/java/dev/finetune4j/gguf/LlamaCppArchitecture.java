package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;

import java.util.Set;

/**
 * What one GGUF architecture's graph in llama.cpp fixes (its {@code src/models/<arch>.cpp}, the tensors
 * {@code llama-model.cpp} loads for it, the keys it reads), and so what a file of that architecture can say. A row of
 * {@link LlamaCppArchitectures}; {@link DecoderHyperparameters} writes the keys and refuses, from the row, whatever the
 * graph would compute otherwise than the model.
 *
 * @param name                     the GGUF architecture ({@code general.architecture})
 * @param rotaryPairs              which dimensions the rotary embedding turns together (llama.cpp's
 *                                 {@code llama_model_rope_type}: {@code LLAMA_ROPE_TYPE_NORM} turns adjacent pairs)
 * @param partialRotary            whether the graph rotates fewer dimensions than a head's ({@code rope.dimension_count}
 *                                 below the head size)
 * @param ropeTypes                the {@code rope_type}s whose scaling the file can say: {@code default}, mostly
 *                                 {@code linear}, and where the graph reads them {@code llama3} (as {@code rope_freqs}),
 *                                 {@code longrope} (as its two factor tensors), {@code yarn} (with llama.cpp's own betas)
 *                                 or {@code dynamic} (Hunyuan's alpha, as a raised base)
 * @param rotaryLayers             which layers the graph rotates
 * @param acceptsUnroundedYarnRamp whether a YaRN ramp whose ends fall between rotary pairs ({@code truncate: false}),
 *                                 which llama.cpp rounds, is exported with a warning (as llama.cpp's own conversions of
 *                                 gpt-oss are) rather than refused
 * @param headSize                 what the graph ties the heads' width to
 * @param keyNormOfHiddenSize      whether {@code attn_k_norm} is as wide as the hidden size (olmoe.cpp), so that the model
 *                                 must have as many key/value heads as query heads
 * @param requiresPerHeadQkNorms   whether the graph requires {@code attn_q_norm} and {@code attn_k_norm} of the head size
 *                                 (qwen35.cpp, qwen35moe.cpp)
 * @param qkNormsFromDepth         the layer count from which the graph requires per-head q/k norms and below which it
 *                                 reads none (command-r.cpp: Command R+'s {@code use_qk_norm}, from 64 layers on); 0
 *                                 for never
 * @param biases                   which projection biases the graph adds
 * @param namesMissingOutputBias   whether the refusal of {@code attention_bias} adds that the graph declares no
 *                                 {@code attn_output.bias} (Cohere's, EXAONE 4's, Hunyuan's and Arcee's, whose
 *                                 attention_bias sets one on o_proj too)
 * @param softCaps                 which of Gemma 2's soft caps the graph applies
 * @param widerScaleDepth          the layer count at which the graph scales attention by {@code 1/sqrt(hidden / heads)}
 *                                 rather than {@code 1/sqrt(head_dim)} (gemma2.cpp and gemma3.cpp recognise their 27B
 *                                 models so: 46 and 62 layers); 0 for never
 * @param slidingWindow            what the graph does with sliding-window layers
 * @param windowDepth              the only layer count at which the graph applies its sliding window (exaone4.cpp:
 *                                 EXAONE 4.0 32B's 64), where the model must slide and elsewhere must not; 0 for any
 * @param slidingRotaryAsFull      whether the graph rotates the sliding layers with the full layers' base, unscaled
 *                                 (olmo2.cpp)
 * @param activation               the MLP's activation; null where the model's {@code hidden_act} is not what the graph
 *                                 computes (gpt-oss's experts compute their own clamped SwiGLU, {@link OwnChecks#GPT_OSS})
 * @param fusedGateUp              whether the graph reads a fused gate and up projection as one {@code ffn_up} of
 *                                 [gate; up] rows; otherwise it reads {@code ffn_gate} and {@code ffn_up} apart
 * @param mlpNormAsPostAttention   whether the graph reads the norm before the MLP as {@code post_attention_norm}
 *                                 (rather than {@code ffn_norm})
 * @param unsuffixedMlpNorm        whether the graph reads the norm before the MLP as {@code blk.N.ffn_norm}, without
 *                                 {@code .weight} (falcon-h1.cpp, as its converter names Falcon-H1's
 *                                 {@code pre_ff_layernorm})
 * @param mixture                  what the graph fixes in a mixture of experts
 * @param outputHead               which output head the graph can load
 * @param finalNorm                the GGUF name of the final norm (without {@code .weight})
 * @param scaleKeys                which of the model's scales the converter writes as keys
 * @param writesVocabSize          whether the converter writes {@code <arch>.vocab_size}
 * @param writesDenseWidth         whether the converter writes {@code <arch>.feed_forward_length} (not for a model
 *                                 without a dense MLP's width, Qwen3.5-MoE's)
 * @param requiresConvolutionKernel whether the graph requires {@code shortconv.l_cache} even when no layer convolves
 *                                 (lfm2.cpp)
 * @param kQuantMixesChecked       whether the K-quant mixes' choices for this architecture were checked against
 *                                 llama-quantize (not for gpt-oss nor nemotron_h_moe: f32, f16, bf16 and q8_0 only)
 * @param ownChecks                the refusals of the graph that no other shares
 * @param ropeSections             whether the rotary embedding is interleaved M-RoPE (qwen35.cpp, qwen35moe.cpp), whose
 *                                 {@code rope.dimension_sections} are written for text
 * @param temperatureStep          whether the graph multiplies the rotated queries by Llama 4's temperature
 *                                 {@code 1 + beta ln(1 + floor(p / step))} ({@code attention.temperature_scale} beta),
 *                                 and which key says its step
 * @param adapterlessMatrices      the matrices (GGUF names within a layer, or of the model's own, without
 *                                 {@code .weight}) the graph multiplies by {@code ggml_mul_mat} rather than
 *                                 {@code build_lora_mm}, so that an adapter's factors for them would load and never
 *                                 apply (deepseek2's latent attention but {@code attn_output}, gemma4's
 *                                 {@code per_layer_model_proj})
 */
record LlamaCppArchitecture(String name, RotaryPairs rotaryPairs, boolean partialRotary, Set<String> ropeTypes,
                            RotaryLayers rotaryLayers, boolean acceptsUnroundedYarnRamp, HeadSize headSize,
                            boolean keyNormOfHiddenSize, boolean requiresPerHeadQkNorms, int qkNormsFromDepth,
                            Biases biases, boolean namesMissingOutputBias, SoftCaps softCaps, int widerScaleDepth,
                            SlidingWindow slidingWindow, int windowDepth, boolean slidingRotaryAsFull,
                            Activations.Kind activation, boolean fusedGateUp, boolean mlpNormAsPostAttention,
                            boolean unsuffixedMlpNorm, Mixture mixture, OutputHead outputHead, String finalNorm, ScaleKeys scaleKeys,
                            boolean writesVocabSize, boolean writesDenseWidth, boolean requiresConvolutionKernel,
                            boolean kQuantMixesChecked, OwnChecks ownChecks, boolean ropeSections,
                            TemperatureStep temperatureStep, Set<String> adapterlessMatrices) {
    LlamaCppArchitecture {
        ropeTypes = Set.copyOf(ropeTypes);
        adapterlessMatrices = Set.copyOf(adapterlessMatrices);
    }

    /** Which dimensions of a head the rotary embedding turns together. */
    enum RotaryPairs {
        /** Dimensions 2i and 2i + 1 ({@code LLAMA_ROPE_TYPE_NORM}). */
        ADJACENT,
        /** Dimensions i and d/2 + i, as Hugging Face's {@code rotate_half} ({@code LLAMA_ROPE_TYPE_NEOX} and M-RoPE). */
        HALVES
    }

    /** Which layers the graph rotates; no key says otherwise. */
    enum RotaryLayers {
        /** Every layer. */
        EVERY,
        /** Every layer, or none when {@code rope.scaling.finetuned} is false (granite.cpp, granite-hybrid.cpp). */
        EVERY_OR_NONE,
        /** Every layer but every 4th (smollm3.cpp: layers 3, 7, 11...). */
        ALL_BUT_EVERY_FOURTH,
        /**
         * The sliding layers alone, wherever the window applies (cohere2.cpp; exaone4.cpp at its {@code windowDepth},
         * every layer at any other depth).
         */
        SLIDING_ONLY,
        /** No layer: the attention has no position encoding (nemotron-h.cpp). */
        NONE
    }

    /** What the graph ties the width of a head to. */
    enum HeadSize {
        /** Nothing: {@code attention.key_length} says it. */
        FREE,
        /**
         * The graph declares attn_q and attn_output as square matrices of the hidden size (chatglm.cpp, command-r.cpp,
         * cohere2.cpp, exaone4.cpp's attn_output, starcoder2.cpp, lfm2.cpp), so the heads must fill it.
         */
        FILLS_HIDDEN,
        /** The graph takes a head's width as hidden_size / heads (olmo2.cpp, olmoe.cpp). */
        HIDDEN_BY_HEADS
    }

    /** Which projection biases the graph adds. */
    enum Biases {
        /** None. */
        NONE,
        /** q, k and v biases, none on attn_output (Qwen2's, GLM's, Seed-OSS's). */
        QKV,
        /**
         * q, k and v biases alone, where the family's one {@code use_bias} switches every projection's (ERNIE 4.5's:
         * ernie4-5.cpp loads attn_output.bias but never adds it, and declares no MLP bias), so none can be exported.
         */
        QKV_UNDER_USE_BIAS,
        /** q, k, v and attn_output biases (gpt-oss's, which requires them: {@link OwnChecks#GPT_OSS}). */
        ATTENTION,
        /** Every projection's: q, k, v, attn_output and the MLP's up and down, required (StarCoder2's). */
        EVERY_PROJECTION;

        /** Whether the graph adds the q, k and v biases. */
        boolean addsQkv() {
            return this == QKV || this == ATTENTION || this == EVERY_PROJECTION;
        }

        /** Whether the graph adds an attn_output bias. */
        boolean addsOutput() {
            return this == ATTENTION || this == EVERY_PROJECTION;
        }
    }

    /** Which of Gemma 2's soft caps the graph applies. */
    enum SoftCaps {
        /** Neither. */
        NONE,
        /** The final one, when {@code final_logit_softcapping} is written (gemma3.cpp). */
        FINAL,
        /** Both, always (gemma2.cpp). */
        BOTH_REQUIRED
    }

    /** What the graph does with sliding-window layers. */
    enum SlidingWindow {
        /** It has no sliding window: a model with one is refused. */
        REFUSED,
        /**
         * It attends fully, as the converter drops the window (Mistral's, StarCoder2's): exported with a warning and
         * no window keys.
         */
        DROPPED,
        /**
         * It attends fully, as llama.cpp switches the window off when it loads (Phi-3's): exported with a warning,
         * the window keys written.
         */
        IGNORED,
        /** It slides in the layers {@code attention.sliding_window_pattern} lists. */
        APPLIED,
        /** As {@link #APPLIED}, and a model without sliding layers is refused (cohere2.cpp). */
        REQUIRED;

        /** Whether the graph slides in the pattern's layers, writing its keys. */
        boolean slides() {
            return this == APPLIED || this == REQUIRED;
        }

        /** Whether a model's window is exported though the graph attends fully. */
        boolean attendsFully() {
            return this == DROPPED || this == IGNORED;
        }
    }

    /** Which output head the graph loads. */
    enum OutputHead {
        /** {@code output.weight}, or the token embeddings when it is absent. */
        EITHER,
        /** The token embeddings alone (gemma.cpp, gemma2.cpp, command-r.cpp, cohere2.cpp). */
        TIED,
        /** {@code output.weight}, required (qwen2moe.cpp, olmo2.cpp, olmoe.cpp, openai-moe.cpp). */
        OWN
    }

    /** Which of the model's scales the converter writes as keys. */
    enum ScaleKeys {
        /** None. */
        NONE,
        /**
         * Granite's multipliers: {@code embedding_scale}, {@code residual_scale}, {@code attention.scale} (the graph's
         * attention scale, whatever the head size) and {@code logit_scale} (the logits divided by it).
         */
        GRANITE,
        /**
         * Cohere's {@code logit_scale} (the logits multiplied by it), and {@code rope.scaling.type} none for an
         * unscaled rotary embedding.
         */
        COHERE
    }

    /**
     * Which key says the step of Llama 4's query temperature, where the graph applies one: every {@code step}
     * positions the factor {@code 1 + beta ln(1 + floor(p / step))} of the whole rotated queries grows.
     */
    enum TemperatureStep {
        /** The graph applies no temperature: a model with one is refused. */
        NONE,
        /**
         * {@code rope.scaling.original_context_length}, YaRN's original length (mistral3.cpp, where the model's
         * {@code rope_parameters} name one length for both); its YaRN scales cos and sin by the ratio of the magnitudes
         * at 1 and at {@code rope.scaling.yarn_log_multiplier}.
         */
        ORIGINAL_CONTEXT_LENGTH,
        /**
         * {@code attention.temperature_length} (deepseek2.cpp, which mistral4 runs: both the absorbed and the expanded
         * latent attention multiply the whole query, the no-rope dimensions too, after rotation).
         */
        TEMPERATURE_LENGTH
    }

    /** The refusals of one graph that no other shares, each a method of {@link DecoderHyperparameters}. */
    enum OwnChecks {
        /** None. */
        NONE,
        /**
         * gpt-oss's (openai-moe.cpp): its experts' SwiGLU gain 1.702 and clamp 7, the attention's biases (it requires
         * attn_output.bias), and layers that alternate sliding and full attention, the only form checked against it.
         */
        GPT_OSS,
        /**
         * deepseek2's multi-head latent attention ({@link LatentAttentionHyperparameters}): its keys, YaRN's magnitudes
         * from {@code rope.scaling.yarn_log_multiplier}, and what its loader infers from the depth.
         */
        LATENT_ATTENTION,
        /**
         * gemma4's ({@link Gemma4Hyperparameters}): heads of each layer kind's own shape, the full layers' rotary as
         * {@code rope_freqs}, per-layer inputs, the kv-shared layers' sources, and unscaled attention scores.
         */
        GEMMA4
    }

    /**
     * What the graph fixes in a mixture of experts: which layers route (each through its {@code ffn_gate_inp}), how
     * the router scores the experts and picks a token's k, and what is shared.
     *
     * @param router          how the router scores the experts and picks them
     * @param renormalisation whether a token's k routing weights are renormalised to sum to 1
     * @param expertWidthKey  whether the experts are sized by {@code expert_feed_forward_length} rather than
     *                        {@code feed_forward_length}
     * @param sharedExperts   what the graph does with shared experts
     * @param sparseLayers    which layers route
     */
    record Mixture(Router router, Renormalisation renormalisation, boolean expertWidthKey, SharedExperts sharedExperts,
                   SparseLayers sparseLayers) {
        /** Mixtral's in llama's graph: a softmax router, renormalised, experts sized by feed_forward_length. */
        static final Mixture RENORMALISED = new Mixture(Router.SOFTMAX, Renormalisation.ALWAYS, false,
                SharedExperts.NONE, SparseLayers.EVERY);
    }

    /** How a mixture's router scores the experts and picks a token's k ({@code build_moe_ffn}, src/llama-graph.cpp). */
    enum Router {
        /** A softmax over the router's logits; the k most probable experts (Mixtral's, the Qwen mixtures', OLMoE's). */
        SOFTMAX,
        /**
         * A softmax; the k experts of the highest probabilities plus the layer's {@code exp_probs_b} (ernie4-5-moe.cpp,
         * ERNIE-4.5's {@code moe_statics.e_score_correction_bias}), which ranks them and weighs none.
         */
        SOFTMAX_SELECTION_BIAS,
        /**
         * What the keys say (glm4-moe.cpp): {@code expert_gating_func} (a sigmoid by default), the required
         * {@code exp_probs_b} for the pick, group-limited selection by {@code expert_group_count} and
         * {@code expert_group_used_count} (read for every architecture, written by the converter for DeepSeek's), and the
         * weights times {@code expert_weights_scale}.
         */
        KEYED
    }

    /** Whether the graph renormalises a token's k routing weights to sum to 1 (it clamps their sum below at 2^-14). */
    enum Renormalisation {
        /** Always (llama.cpp for Mixtral, qwen3moe, qwen35moe, ernie4_5-moe). */
        ALWAYS,
        /** Never: the weights as the router gave them (qwen2moe.cpp, olmoe.cpp). */
        NEVER,
        /** As {@code expert_weights_norm} says (glm4-moe.cpp). */
        KEYED
    }

    /** What the graph does with the experts every token passes through beside its k. */
    enum SharedExperts {
        /** It has none. */
        NONE,
        /**
         * One, required, scaled by {@code sigmoid(ffn_gate_inp_shexp x)} and sized by
         * {@code expert_shared_feed_forward_length} (qwen2moe.cpp, qwen35moe.cpp).
         */
        GATED,
        /** Required, added as they are, {@code expert_shared_count} experts' width wide (glm4-moe.cpp). */
        COUNTED,
        /**
         * Where {@code expert_shared_feed_forward_length} is above 0, added as they are (ernie4-5-moe.cpp); the converter
         * writes {@code expert_shared_count} beside it.
         */
        UNGATED
    }

    /** Which layers route through experts; the others are dense MLPs of {@code feed_forward_length}. */
    enum SparseLayers {
        /** Every layer. */
        EVERY,
        /** All but the first {@code leading_dense_block_count} (glm4-moe.cpp). */
        AFTER_LEADING_DENSE,
        /**
         * Those from {@code leading_dense_block_count} on at every {@code interleave_moe_layer_step}-th (ernie4-5-moe.cpp),
         * though its loader reads every layer from the leading count on as sparse, so only a step of 1 loads.
         */
        AFTER_LEADING_DENSE_BY_STEP,
        /**
         * Every layer with a {@code feed_forward_length} above 0 (nemotron-h.cpp once it has experts): Nemotron-H's
         * mixture layers, so none of its MLP layers can stay dense.
         */
        FEED_FORWARD_LAYERS
    }
}
