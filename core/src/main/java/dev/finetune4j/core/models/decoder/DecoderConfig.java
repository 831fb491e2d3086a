package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.Dropouts;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;

import java.util.Arrays;
import java.util.Set;

/**
 * The config.json of the decoder family (LLaMA, Mistral, Qwen2, Qwen3, Gemma, Gemma 2, Gemma 3, Phi-3, Granite 3
 * and 4 (attention only), OLMo 2 and 3, SmolLM3, GLM, GLM-4, ERNIE 4.5, Cohere's Command R and R7B, and the mixtures of
 * experts Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE and gpt-oss): fields mirror
 * the JSON names. The families differ only in switches: q/k/v biases (Qwen2, Qwen2-MoE), q/k RMSNorm (per head: Qwen3,
 * Qwen3-MoE, Gemma 3; across heads: OLMo, OLMoE), tied embeddings, head_dim, sliding-window layers (Mistral, Mixtral, Qwen2,
 * Gemma 2 and 3, Phi-3, OLMo 3), where the norms sit (Gemma 2 and 3's and GLM-4's four per layer, OLMo's two after
 * each sub-block), Gemma's norms and scaled embeddings, Granite's multipliers, Gemma 2's soft caps, Phi-3's fused
 * projections and partial rotary, the interleaved rotary pairs of GLM, ERNIE 4.5 and Cohere, Cohere's LayerNorms and
 * parallel sub-blocks, SmolLM3's layers without rotary, gpt-oss's attention sinks, the sparse MLPs,
 * Qwen3.5's linear-attention layers and gated attention, Falcon-H1's attention and Mamba-2 side by side, and
 * Nemotron-H's layers of one block each.
 *
 * @param modelType {@code llama}, {@code mistral}, {@code qwen2}, {@code qwen3}, {@code gemma}, {@code gemma2},
 *                  {@code gemma3_text}, {@code phi3}, {@code granite}, {@code granitemoe}, {@code granitemoeshared},
 *                  {@code granitemoehybrid}, {@code olmo2},
 *                  {@code olmo3}, {@code glm}, {@code glm4}, {@code ernie4_5}, {@code cohere}, {@code cohere2},
 *                  {@code smollm3}, {@code mixtral}, {@code qwen2_moe}, {@code qwen3_moe}, {@code olmoe},
 *                  {@code gpt_oss}, {@code glm4_moe}, {@code ernie4_5_moe} or any other of {@link #MODEL_TYPES}
 *                  ({@code model_type})
 * @param vocabSize number of token ids
 * @param paddingRow the row of {@code embed_tokens} that takes no gradient ({@code pad_token_id}, which every family's
 *                   transformers class passes to its {@code nn.Embedding} as {@code padding_idx}, a negative one
 *                   counted from the end as torch counts it), or -1 without a {@code pad_token_id}
 * @param hiddenSize hidden size C
 * @param intermediateSize width of the gated MLP
 * @param numHiddenLayers number of decoder layers
 * @param numAttentionHeads query heads H
 * @param numKeyValueHeads key/value heads Hkv, dividing H (grouped-query attention when smaller)
 * @param headDim size D of each head, even (default {@code hidden_size / num_attention_heads})
 * @param hiddenAct the MLP's activation (SiLU; Gemma's GELU with the tanh approximation); null for Apertus's xIELU,
 *                  whose learned scalars make it a module of the MLP ({@link #xielu()})
 * @param maxPositionEmbeddings longest sequence the rotary embedding is configured for
 * @param normEps the norms' epsilon ({@code rms_norm_eps}; Cohere's {@code layer_norm_eps})
 * @param rope rotary embedding settings (theta and scaling) of full-attention layers
 * @param localRope rotary settings of sliding-window layers: Gemma 3's own, else {@code rope}
 * @param rotaryDim the rotated dimensions of a head: D, or less with a {@code partial_rotary_factor} (Phi-3.5,
 *                  Phi-4-mini, GLM)
 * @param rotaryLayout which of a head's dimensions rotate together: halves, or adjacent pairs (GLM, ERNIE 4.5,
 *                     Cohere)
 * @param attentionBias whether q, k and v have biases
 * @param outputBias whether o_proj has a bias: with q, k and v's for LLaMA's {@code attention_bias}, ERNIE 4.5's and
 *                   StarCoder2's {@code use_bias}; never in Qwen2 and GLM; Seed-OSS's own {@code attention_out_bias}
 * @param mlpBias whether the MLP projections have biases
 * @param headBias whether {@code lm_head} has a bias (ERNIE-4.5-MoE's {@code use_bias}; never with tied embeddings)
 * @param qkNorm whether and how queries and keys are RMS-normalised
 * @param tieWordEmbeddings whether the output head shares the token embeddings
 * @param dropouts the dropouts of training mode: on the attention probabilities ({@code attention_dropout}, which
 *                 ERNIE 4.5 and LFM2 ignore), on the sub-layers' outputs (Phi-3's {@code resid_pdrop}, StarCoder2's
 *                 and Seed-OSS's {@code residual_dropout}) and on the input embeddings (StarCoder2's
 *                 {@code embedding_dropout})
 * @param attentionScale the scores' scale: {@code 1 / sqrt(head_dim)}, Gemma 2 and 3's
 *                       {@code query_pre_attn_scalar^-0.5}, or Granite's {@code attention_multiplier}
 * @param attnLogitSoftcapping Gemma 2's soft cap on the attention scores, 0 for none
 * @param finalLogitSoftcapping Gemma 2's soft cap on the logits, 0 for none
 * @param slidingWindow the keys a sliding-window layer's query sees, itself included; 0 when no layer slides
 * @param slidingLayers per layer, whether it attends through the sliding window ({@code layer_types})
 * @param ropeLayers per layer, whether its queries and keys are rotated (SmolLM3's {@code no_rope_layers} holds 0
 *                   for a layer without position encoding; Cohere 2 rotates in its sliding layers only)
 * @param gemmaNorms whether RMSNorms scale by {@code 1 + weight} in float32 (the Gemma family)
 * @param normKind what the norms compute: RMSNorms, or LayerNorms with a bias (StarCoder2) or without one (Cohere)
 * @param embeddingScale where the input is multiplied by {@code multipliers.embedding()}, if anywhere
 * @param multipliers the constant factors on the embeddings, the residual branches and the logits (Gemma's
 *                    {@code sqrt(hidden_size)}, Granite's multipliers)
 * @param norms where each layer's RMSNorms sit
 * @param fusedProjections whether q, k, v share one {@code qkv_proj} (Phi-3)
 * @param denseMlp where a dense layer's MLP sits and what its projections are called
 * @param attentionSinks whether each attention head has a learned sink logit ({@code self_attn.sinks}, gpt-oss)
 * @param moe the mixture of experts of Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, gpt-oss, Qwen3.5-MoE, Granite 4.0 H and
 *            Gemma 4 (beside its MLP);
 *            null for a dense model
 * @param linearAttention Qwen3.5's gated DeltaNet layers; null when no layer is one
 * @param mamba the Mamba-2 mixers of Granite 4.0 H (in place of attention) and Falcon-H1 (beside it); null when no
 *              layer has one
 * @param shortConv LFM2's short-convolution layers; null when no layer is one
 * @param attentionOutputGate whether {@code q_proj} also makes a per-head gate whose sigmoid scales the attention's
 *                            output before {@code o_proj} (Qwen3.5)
 * @param latentAttention DeepSeek-V3's multi-head latent attention in every layer ({@link LatentAttention}), whose
 *                        padded heads {@code headDim} then describes; null for the other families' attention
 * @param parallelHybrid Falcon-H1's layers, attention and a Mamba-2 mixer side by side, with their multipliers; null
 *                       for the other families
 * @param queryTemperature Ministral 3's and Mistral 4's factor on the queries of each position (Llama 4's attention
 *                         temperature); null for the other families, and for a {@code llama_4_scaling_beta} of 0
 * @param blockPattern Nemotron-H's layers, each one block (Mamba-2, attention, MLP or mixture) after its own norm;
 *                     null for the families whose layers mix tokens and then transform them
 * @param gemma4 Gemma 4's full-attention heads, keys as values, per-layer inputs and kv-shared layers; null for the
 *               other families
 */
public record DecoderConfig(String modelType, int vocabSize, int paddingRow, int hiddenSize, int intermediateSize,
                            int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim,
                            Activations.Kind hiddenAct, int maxPositionEmbeddings, float normEps,
                            RopeConfig rope, RopeConfig localRope, int rotaryDim, RotaryLayout rotaryLayout,
                            boolean attentionBias, boolean outputBias, boolean mlpBias, boolean headBias, QkNorm qkNorm, boolean tieWordEmbeddings, Dropouts dropouts,
                            float attentionScale, float attnLogitSoftcapping, float finalLogitSoftcapping,
                            int slidingWindow, boolean[] slidingLayers, boolean[] ropeLayers, boolean gemmaNorms,
                            NormKind normKind, EmbeddingScale embeddingScale, Multipliers multipliers, NormPlacement norms,
                            boolean fusedProjections, DenseMlp denseMlp, boolean attentionSinks, MoeConfig moe,
                            LinearAttentionConfig linearAttention, MambaConfig mamba, ShortConvConfig shortConv,
                            boolean attentionOutputGate, LatentAttentionConfig latentAttention,
                            ParallelHybridConfig parallelHybrid, QueryTemperature queryTemperature,
                            BlockPattern blockPattern, Gemma4Config gemma4) {

    /** Where a decoder scales its input by {@link Multipliers#embedding}, which decides whether virtual tokens are. */
    public enum EmbeddingScale {
        /** Not at all. */
        NONE,
        /** The whole input of the layers, prompt tuning's virtual tokens included (Gemma, Gemma 2, Granite). */
        INPUT,
        /** The token embeddings only, in the embedding module (Gemma 3). */
        TOKENS
    }

    /** Where a decoder layer's RMSNorms sit around its attention and MLP. */
    public enum NormPlacement {
        /** Before each sub-block: {@code input_layernorm}, then {@code post_attention_layernorm} before the MLP. */
        PRE,
        /**
         * Before and after each sub-block (Gemma 2 and 3): {@code input_layernorm}, {@code post_attention_layernorm}
         * on the attention's output, {@code pre_feedforward_layernorm}, {@code post_feedforward_layernorm}.
         */
        SANDWICH,
        /**
         * After each sub-block only (OLMo 2 and 3): {@code post_attention_layernorm} on the attention's output and
         * {@code post_feedforward_layernorm} on the MLP's; the sub-blocks read the residual stream unnormalised.
         */
        POST,
        /**
         * One norm, {@code input_layernorm}, whose output both sub-blocks read side by side: x + attn(norm(x)) +
         * mlp(norm(x)) (Cohere).
         */
        PARALLEL
    }

    /**
     * The names of a decoder layer's RMSNorms, each null where the layer has none.
     *
     * @param input the attention's input norm
     * @param attentionOutput the norm of the attention's output, before the residual add
     * @param mlpInput the MLP's input norm
     * @param mlpOutput the norm of the MLP's output, before the residual add
     */
    public record LayerNormNames(String input, String attentionOutput, String mlpInput, String mlpOutput) {
    }

    /** What a decoder's norms compute. */
    public enum NormKind {
        /** RMSNorm: {@code x / rms(x) * weight} (Gemma's {@code * (1 + weight)} where {@link #gemmaNorms}). */
        RMS,
        /** LayerNorm, the mean subtracted, with a learned bias (StarCoder2). */
        LAYER,
        /** LayerNorm without a bias (Cohere). */
        LAYER_WITHOUT_BIAS
    }

    /**
     * The checkpoint's names of an attention layer's output projection and q/k norms.
     *
     * @param output the output projection's
     * @param queryNorm the queries' norm's
     * @param keyNorm the keys' norm's
     */
    public record AttentionNames(String output, String queryNorm, String keyNorm) {
    }

    /** How a decoder normalises its queries and keys. */
    public enum QkNorm {
        /** Not at all. */
        NONE,
        /** Each head on its own, one weight of size {@code head_dim} (Qwen3, Qwen3-MoE, Gemma 3). */
        PER_HEAD,
        /** The whole projection, all heads at once, weights of size {@code H * head_dim} and {@code Hkv * head_dim}
         * (OLMo 2 and 3). */
        ACROSS_HEADS,
        /**
         * Each head on its own AFTER the rotary embedding, {@code query_layernorm} and {@code key_layernorm} (Hunyuan).
         */
        PER_HEAD_AFTER_ROTARY,
        /**
         * Each head on its own by a LayerNorm without a bias whose weight has one row per head, (H, head_dim) and
         * (Hkv, head_dim), before the rotary embedding (Command R+'s {@code use_qk_norm}).
         */
        PER_HEAD_LAYER
    }

    /**
     * Constant factors of the residual stream (all 1 but for Gemma's embeddings and Granite).
     *
     * @param embedding the input's factor where {@link EmbeddingScale} applies one: Gemma's {@code sqrt(hidden_size)},
     *                  Granite's {@code embedding_multiplier}
     * @param residual the factor on each attention and MLP output before it joins the residual stream (Granite's
     *                 {@code residual_multiplier})
     * @param logitsScaling the divisor of the logits (Granite's {@code logits_scaling})
     */
    public record Multipliers(float embedding, float residual, float logitsScaling) {
        /** No scaling anywhere. */
        public static final Multipliers NONE = new Multipliers(1f, 1f, 1f);

        /** Checks that every factor is a positive finite number. */
        public Multipliers {
            require(embedding > 0 && Float.isFinite(embedding), "embedding_multiplier", embedding);
            require(residual > 0 && Float.isFinite(residual), "residual_multiplier", residual);
            require(logitsScaling > 0 && Float.isFinite(logitsScaling), "logits_scaling", logitsScaling);
        }
    }

    /** The {@code model_type} values this decoder implements. */
    public static final Set<String> MODEL_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
            "gemma3_text", "phi3", "granite", "granitemoe", "granitemoeshared", "granitemoehybrid", "olmo2", "olmo3",
            "smollm3", "glm", "glm4", "ernie4_5", "cohere", "cohere2", "exaone4", "seed_oss", "starcoder2", "arcee",
            DecoderConfig.APERTUS, "hunyuan_v1_dense", ShortConvConfig.MODEL_TYPE, ShortConvConfig.MOE_MODEL_TYPE, "mixtral",
            "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss",
            "qwen3_5_text", "qwen3_5_moe_text", MoeConfig.GLM_MOE, MoeConfig.ERNIE_MOE, LatentAttentionConfig.MODEL_TYPE,
            LatentAttentionConfig.V2_MODEL_TYPE, "qwen3_next", MoeConfig.QWEN3_VL_MOE_TEXT,
            ParallelHybridConfig.MODEL_TYPE,
            DecoderConfig.MINISTRAL, DecoderConfig.MINISTRAL3,
            LatentAttentionConfig.MISTRAL4_MODEL_TYPE,
            BlockPattern.MODEL_TYPE,
            Gemma4Config.MODEL_TYPE);

    /** The {@code model_type} of Ministral 8B (2410): Mistral's layer with sliding and full layers ({@code layer_types}). */
    public static final String MINISTRAL = "ministral";
    /** The {@code model_type} of Ministral 3 and of Mistral 3's language models: Mistral's layer, query temperature. */
    public static final String MINISTRAL3 = "ministral3";

    /** The {@code model_type} of Apertus (swiss-ai's Apertus 8B and 70B): Arcee's layout with xIELU and q/k norms. */
    public static final String APERTUS = "apertus";

    /** The {@code model_type} of Qwen3.5's language model (inside the {@code qwen3_5} vision-language checkpoints). */
    public static final String QWEN35_TEXT = "qwen3_5_text";
    /** The {@code model_type} of Qwen3.5-MoE's language model (inside the {@code qwen3_5_moe} checkpoints). */
    public static final String QWEN35_MOE_TEXT = "qwen3_5_moe_text";
    /** The {@code model_type} of Qwen3-Next: Qwen3.5-MoE's layers with the DeltaNet's projections fused. */
    public static final String QWEN3_NEXT = "qwen3_next";

    /** Checks every size against its valid range, naming the config.json field that is wrong. */
    public DecoderConfig {
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(numAttentionHeads > 0, "num_attention_heads", numAttentionHeads);
        require(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0, "num_key_value_heads (must divide num_attention_heads)", numKeyValueHeads);
        require(headDim > 0 && headDim % 2 == 0, "head_dim (must be even for rotary embeddings)", headDim);
        require(rotaryDim > 0 && rotaryDim % 2 == 0 && rotaryDim <= headDim,
                "partial_rotary_factor (must rotate an even number of a head's dimensions, at least 2)", rotaryDim);
        require(numHiddenLayers > 0, "num_hidden_layers", numHiddenLayers);
        require(intermediateSize > 0, "intermediate_size", intermediateSize);
        require(maxPositionEmbeddings > 0, "max_position_embeddings", maxPositionEmbeddings);
        require(slidingLayers.length == numHiddenLayers, "layer_types (one per layer)", slidingLayers.length);
        require(ropeLayers.length == numHiddenLayers, "no_rope_layers (one per layer)", ropeLayers.length);
        require(linearAttention == null || linearAttention.layers().length == numHiddenLayers,
                "layer_types (one per layer)", linearAttention == null ? 0 : linearAttention.layers().length);
        require(mamba == null || mamba.layers().length == numHiddenLayers, "layer_types (one per layer)",
                mamba == null ? 0 : mamba.layers().length);
        require(shortConv == null || shortConv.layers().length == numHiddenLayers, "layer_types (one per layer)",
                shortConv == null ? 0 : shortConv.layers().length);
        require(blockPattern == null || blockPattern.kinds().length == numHiddenLayers,
                "layers_block_type (one per layer)", blockPattern == null ? 0 : blockPattern.kinds().length);
        if (headBias && tieWordEmbeddings) {
            throw new IllegalArgumentException("config.json: use_bias with tie_word_embeddings gives lm_head a bias beside "
                    + "the tied embeddings, which finetune4j does not implement (the published ERNIE-4.5 mixtures set "
                    + "use_bias false); untie the head (tie_word_embeddings false) if the checkpoint stores lm_head");
        }
    }

    /**
     * Parameters of the model's matrices (embeddings, projections, MLP; norms and biases left out): a lower
     * bound on what its checkpoint must hold.
     *
     * @return the number of matrix parameters
     */
    public long parameterCount() {
        long h = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long attention = latentAttention != null ? latentAttention.parameterCount(h, numAttentionHeads)
                : (attentionOutputGate ? 3 : 2) * h * q + 2 * h * kv;
        long mlp = (denseMlp.gated() ? 3 : 2) * h * intermediateSize;
        long count = (long) vocabSize * h * (tieWordEmbeddings ? 1 : 2);
        if (gemma4 != null) { // the mixture beside each layer's MLP, where there is one, counted by moe
            return count + layerShapes().gemma4ParameterCount() + (moe == null ? 0 : moe.parameterCount(h));
        }
        for (int i = 0; i < numHiddenLayers; i++) {
            if (blockPattern != null) { // one block per layer
                count += switch (blockPattern.kind(i)) {
                    case MAMBA -> mamba.parameterCount(h);
                    case ATTENTION -> attention;
                    case MLP -> mlp;
                    case MOE -> 0; // counted with the mixture below
                };
                continue;
            }
            long mixer = isLinearAttention(i) ? linearAttention.parameterCount(h)
                    : isMamba(i) ? mamba.parameterCount(h) : isShortConv(i) ? shortConv.parameterCount(h)
                    : parallelHybrid != null ? attention + mamba.parameterCount(h) : attention;
            count += mixer + (isSparse(i) ? 0 : mlp);
        }
        return count + (moe == null ? 0 : moe.parameterCount(h));
    }

    /**
     * Each layer's shape where a family's layers differ (Gemma 4's head sizes, kv-shared layers, double-wide MLPs).
     *
     * @return the layers' shapes
     */
    public LayerShapes layerShapes() {
        return new LayerShapes(this);
    }

    /**
     * The names of each layer's RMSNorms: where {@link #norms} puts them, called as the family's checkpoints call them.
     *
     * @return the names, null where a layer has no such norm
     */
    public LayerNormNames normNames() {
        return switch (norms) {
            case PRE -> ShortConvConfig.appliesTo(modelType)
                    ? new LayerNormNames("operator_norm", null, "ffn_norm", null)
                    : parallelHybrid != null ? new LayerNormNames("input_layernorm", null, "pre_ff_layernorm", null)
                    : modelType.equals(APERTUS)
                    ? new LayerNormNames("attention_layernorm", null, "feedforward_layernorm", null)
                    : new LayerNormNames("input_layernorm", null, "post_attention_layernorm", null);
            // GLM-4's post_attention_layernorm is the MLP's input norm, as in the PRE families
            case SANDWICH -> modelType.equals("glm4")
                    ? new LayerNormNames("input_layernorm", "post_self_attn_layernorm", "post_attention_layernorm",
                            "post_mlp_layernorm")
                    : new LayerNormNames("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                            "post_feedforward_layernorm");
            case POST -> new LayerNormNames(null, "post_attention_layernorm", null, "post_feedforward_layernorm");
            case PARALLEL -> new LayerNormNames("input_layernorm", null, null, null);
        };
    }

    /**
     * The names of layer {@code layer}'s norms: {@link #normNames()}, but for Nemotron-H's one {@code norm}, before its
     * token mixer or before its MLP or mixture.
     *
     * @param layer the layer's index
     * @return the names, null where the layer has no such norm
     */
    public LayerNormNames normNames(int layer) {
        if (blockPattern == null) {
            return normNames();
        }
        return blockPattern.kind(layer).mixesTokens() ? new LayerNormNames(BLOCK_NORM, null, null, null)
                : new LayerNormNames(null, null, BLOCK_NORM, null);
    }

    /** Nemotron-H's norm before a layer's one block. */
    private static final String BLOCK_NORM = "norm";

    /**
     * Whether layer {@code layer}'s MLP is a mixture of experts.
     *
     * @param layer the layer's index
     * @return true for a sparse layer of a Mixtral, Qwen2-MoE or Qwen3-MoE model
     */
    public boolean isSparse(int layer) {
        return moe != null && moe.isSparse(layer);
    }

    /**
     * Whether a sparse layer also passes every token through the dense MLP and adds the two (Granite's
     * {@code shared_mlp} beside its {@code block_sparse_moe}).
     *
     * @return true for Granite 4.0 H's mixtures and Granite 3's granitemoeshared
     */
    public boolean sharedMlpBesideExperts() {
        return moe != null && moe.naming() == MoeConfig.Naming.GRANITE && denseMlp == DenseMlp.GRANITE_SHARED;
    }

    /**
     * Whether layer {@code layer} mixes tokens by linear attention ({@code linear_attn}) instead of self-attention.
     *
     * @param layer the layer's index
     * @return true for a gated DeltaNet layer of Qwen3.5
     */
    public boolean isLinearAttention(int layer) {
        return linearAttention != null && linearAttention.layers()[layer];
    }

    /**
     * Whether layer {@code layer} mixes tokens by a Mamba-2 state space ({@code mamba}) instead of self-attention
     * (Falcon-H1's layers run one beside it: {@link #parallelHybrid}).
     *
     * @param layer the layer's index
     * @return true for a Mamba-2 layer of Granite 4.0 H
     */
    public boolean isMamba(int layer) {
        return mamba != null && parallelHybrid == null && mamba.layers()[layer];
    }

    /**
     * Whether layer {@code layer} mixes tokens by a gated short convolution ({@code conv}) instead of self-attention.
     *
     * @param layer the layer's index
     * @return true for a convolution layer of LFM2
     */
    public boolean isShortConv(int layer) {
        return shortConv != null && shortConv.layers()[layer];
    }

    /**
     * Whether some layers keep a recurrent state instead of keys and values (gated DeltaNet, Mamba-2 or short
     * convolution layers): their generations carry that state, and packed examples restart it.
     *
     * @return true for Qwen3.5, Granite 4.0 H, Falcon-H1 and LFM2
     */
    public boolean hasRecurrentLayers() {
        return linearAttention != null || mamba != null || shortConv != null;
    }

    /**
     * The names of an attention layer's output projection and q/k norms, as the family's checkpoints call them.
     *
     * @return {@code o_proj}, {@code q_norm}, {@code k_norm}; Hunyuan's {@code query_layernorm} and
     *         {@code key_layernorm}; LFM2's {@code out_proj}, {@code q_layernorm}, {@code k_layernorm}
     */
    public AttentionNames attentionNames() {
        return switch (modelType) {
            case "hunyuan_v1_dense" -> new AttentionNames("o_proj", "query_layernorm", "key_layernorm");
            case ShortConvConfig.MODEL_TYPE, ShortConvConfig.MOE_MODEL_TYPE -> new AttentionNames("out_proj", "q_layernorm", "k_layernorm");
            default -> new AttentionNames("o_proj", "q_norm", "k_norm");
        };
    }

    /**
     * Whether the MLP's activation is xIELU with its layer's learned scalars ({@code mlp.act_fn.alpha_p} and
     * {@code alpha_n}, {@link dev.finetune4j.core.nn.XieluActivation}) instead of a {@link #hiddenAct}.
     *
     * @return true for Apertus with {@code hidden_act: xielu}, as every published checkpoint has it
     */
    public boolean xielu() {
        return hiddenAct == null;
    }

    /** Apertus's {@code hidden_act}: the activation with learned scalars. */
    private static final String XIELU = "xielu";

    /**
     * The name of the norm after the last layer.
     *
     * @return {@code norm}; LFM2's {@code embedding_norm}, Falcon-H1's {@code final_layernorm}, Nemotron-H's
     *         {@code norm_f}
     */
    public String finalNorm() {
        return ShortConvConfig.appliesTo(modelType) ? "embedding_norm"
                : parallelHybrid != null ? "final_layernorm" : blockPattern != null ? "norm_f" : "norm";
    }

    /**
     * The factor the embeddings are multiplied by ({@link #embeddingScale}). NOTE: every Gemma rounds its
     * {@code sqrt(hidden_size)} to the embedding table's dtype first, as it computes the normalizer as a tensor of that
     * dtype (55.5 rather than 55.43 for a bf16 table of width 3,072); Granite multiplies by the Python float as it is.
     *
     * @param tableDType the dtype the embedding table is held in
     * @return {@code multipliers.embedding()}, rounded to bf16 for a Gemma whose table is bf16
     */
    public float embeddingFactor(DType tableDType) {
        float factor = multipliers.embedding();
        return modelType.startsWith("gemma") && tableDType == DType.BF16 ? DTypeConversions.roundToBf16(factor) : factor;
    }

    /**
     * The name of the token embeddings in the backbone.
     *
     * @return {@code embed_tokens}; Nemotron-H's {@code embeddings}
     */
    public String embeddingsName() {
        return blockPattern != null ? "embeddings" : "embed_tokens";
    }

    /**
     * The sliding window of layer {@code layer}.
     *
     * @param layer the layer's index
     * @return the keys its queries see at most, or 0 when it attends to every earlier key
     */
    public int slidingWindowOf(int layer) {
        return slidingLayers[layer] ? slidingWindow : 0;
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("config.json: invalid " + field + " = " + value);
        }
    }

    /**
     * Reads a config.json, with each family's defaults for fields it leaves out.
     *
     * @param config the parsed config.json
     * @return the configuration
     */
    public static DecoderConfig fromJson(JsonNode config) {
        String type = config.path("model_type").asText();
        JsonNode c = FamilyDefaults.fill(config, type);
        String at = "config.json";
        boolean gemma = type.startsWith("gemma");
        boolean gemma4 = type.equals(Gemma4Config.MODEL_TYPE);
        boolean laterGemma = type.equals("gemma2") || type.equals("gemma3_text") || gemma4;
        boolean graniteHybrid = type.equals(GraniteHybridLayers.MODEL_TYPE);
        boolean falconH1 = type.equals(ParallelHybridConfig.MODEL_TYPE);
        BlockPattern blockPattern = type.equals(BlockPattern.MODEL_TYPE) ? BlockPattern.fromJson(c) : null;
        boolean granite = type.startsWith("granite");
        // Granite's shared MLP (shared_mlp): always in Granite 4, where shared_intermediate_size is set (above 0) in
        // Granite 3's granitemoeshared
        boolean sharedMlp = graniteHybrid || type.equals("granitemoeshared")
                && JsonFields.integer(c, "shared_intermediate_size", 0, 0, ConfigLimits.INTERMEDIATE, "config.json") > 0;
        boolean olmo = type.equals("olmo2") || type.equals("olmo3");
        boolean glm = type.equals("glm") || type.equals("glm4");
        boolean cohere = type.equals("cohere") || type.equals("cohere2");
        boolean starcoder2 = type.equals("starcoder2");
        boolean ernie = type.equals("ernie4_5") || type.equals(MoeConfig.ERNIE_MOE);
        // ERNIE 4.5's and StarCoder2's use_bias: every projection's bias, or none
        boolean oneBiasSwitch = ernie || starcoder2;
        // NOTE: Ministral's and Ministral 3's classes build every projection without a bias, whatever the config says
        boolean noBiases = type.equals(MINISTRAL) || type.equals(MINISTRAL3);
        boolean attentionBias = switch (type) {
            case MINISTRAL, MINISTRAL3 -> false;
            case "qwen2_moe" -> JsonFields.bool(c, "qkv_bias", true, at);
            case "ernie4_5", MoeConfig.ERNIE_MOE, "starcoder2" -> JsonFields.bool(c, "use_bias", starcoder2, at);
            // NOTE: transformers' Nemotron-H attention has no biases whatever attention_bias says
            case BlockPattern.MODEL_TYPE -> false;
            default -> JsonFields.bool(c, "attention_bias", type.equals("qwen2") || glm || type.equals("seed_oss"), at);
        };
        boolean qwen35 = LinearAttentionConfig.appliesTo(type);
        LatentAttentionConfig latent = LatentAttentionConfig.appliesTo(type) ? LatentAttentionConfig.fromJson(c) : null;
        int hidden = JsonFields.requiredInteger(c, "hidden_size", 1, ConfigLimits.HIDDEN, at);
        int heads = JsonFields.requiredInteger(c, "num_attention_heads", 1, ConfigLimits.HEADS, at);
        int layers = JsonFields.requiredInteger(c, "num_hidden_layers", 1, ConfigLimits.LAYERS, at);
        int maxPos = JsonFields.integer(c, "max_position_embeddings", 2048, 1, ConfigLimits.POSITIONS, at);
        if (!c.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new IllegalArgumentException(at + ": hidden_size " + hidden + " is not divisible by num_attention_heads "
                    + heads + ", so the heads' size is undefined: fix one of them, or set head_dim explicitly");
        }
        // DeepSeek-V3's config sets head_dim to the rotated part; its heads are the latent attention's
        int headDim = latent != null ? latent.paddedHeadDim()
                : JsonFields.integer(c, "head_dim", gemma ? 256 : hidden / heads, 1, ConfigLimits.HIDDEN, at);
        // transformers 5 keeps partial_rotary_factor in rope_parameters; older configs have it top-level
        JsonNode ropeParams = JsonFields.object(c, "rope_parameters", at);
        double partialRotary = JsonFields.number(ropeParams.has("partial_rotary_factor") ? ropeParams : c,
                "partial_rotary_factor", 1.0, f -> f > 0 && f <= 1, "in (0, 1]", at);
        refuseUnsupported(c, type, layers);
        ParallelHybridConfig parallelHybrid = falconH1 ? ParallelHybridConfig.fromJson(c) : null;
        boolean[] mambaLayers = graniteHybrid ? GraniteHybridLayers.mambaLayers(c, layers) : new boolean[layers];
        if (falconH1) {
            Arrays.fill(mambaLayers, true); // every Falcon-H1 layer is "hybrid"
        }
        if (blockPattern != null) {
            mambaLayers = blockPattern.layersOf(BlockPattern.Kind.MAMBA);
        }
        ShortConvConfig shortConv = ShortConvConfig.appliesTo(type) ? ShortConvConfig.fromJson(c, layers) : null;
        RopeConfig rope = RopeConfig.fromJson(c, maxPos);
        boolean mistral4 = type.equals(LatentAttentionConfig.MISTRAL4_MODEL_TYPE);
        QueryTemperature temperature = type.equals(MINISTRAL3) || mistral4 ? QueryTemperature.fromJson(c, type) : null;
        if (mistral4) {
            latent.requireMistral4Rotary(c, rope, temperature != null);
        }
        boolean[] ropeLayers = RopeLayers.fromJson(c, type, layers);
        SlidingLayers sliding = SlidingLayers.fromJson(c, type, layers, ropeLayers);
        ropeLayers = RopeLayers.afterSliding(c, type, ropeLayers, sliding.layers());
        double queryScalar = JsonFields.number(c, "query_pre_attn_scalar", laterGemma ? 256 : headDim, v -> v > 0,
                "> 0", at);
        float attentionScale = granite
                ? (float) JsonFields.number(c, "attention_multiplier", 1.0, v -> v > 0, "> 0", at)
                : latent != null ? (float) (Math.pow(latent.qkHeadDim(), -0.5) * rope.softmaxScaleFactor())
                // Gemma 4 scales no score: its q/k norms set their size
                : gemma4 ? 1f : (float) Math.pow(queryScalar, -0.5);
        int vocab = JsonFields.requiredInteger(c, "vocab_size", 1, ConfigLimits.VOCAB, at);
        return new DecoderConfig(type,
                vocab,
                // Nemotron-H's embeddings have no padding_idx: every row learns
                blockPattern != null ? -1 : paddingRow(c, vocab, at),
                hidden,
                sharedMlp ? JsonFields.integer(c, "shared_intermediate_size", 1024, 1, ConfigLimits.INTERMEDIATE, at)
                        // Qwen3.5-MoE's config has no dense width (every layer is sparse): its experts' stands in
                        : type.equals(QWEN35_MOE_TEXT) ? JsonFields.integer(c, "moe_intermediate_size", 512, 1,
                                ConfigLimits.INTERMEDIATE, at)
                        : JsonFields.requiredInteger(c, "intermediate_size", 1, ConfigLimits.INTERMEDIATE, at),
                layers,
                heads,
                latent != null ? LatentAttentionConfig.keyValueHeads(c, heads)
                        : JsonFields.integer(c, "num_key_value_heads", heads, 1, ConfigLimits.HEADS, at),
                headDim,
                activation(c, type),
                maxPos,
                (float) JsonFields.number(c, switch (type) {
                            case "cohere", "cohere2" -> "layer_norm_eps";
                            case "starcoder2" -> "norm_epsilon";
                            case ShortConvConfig.MODEL_TYPE, ShortConvConfig.MOE_MODEL_TYPE -> "norm_eps";
                            case BlockPattern.MODEL_TYPE -> "layer_norm_epsilon";
                            default -> "rms_norm_eps";
                        },
                        Set.of("phi3", "mixtral", "cohere", "cohere2", "starcoder2", "exaone4", "arcee", APERTUS,
                                MoeConfig.GLM_MOE, MoeConfig.ERNIE_MOE, ParallelHybridConfig.MODEL_TYPE,
                                BlockPattern.MODEL_TYPE).contains(type)
                        || ShortConvConfig.appliesTo(type) ? 1e-5 : 1e-6,
                        ConfigLimits.NORM_EPS, ConfigLimits.NORM_EPS_RANGE, at),
                rope,
                localRope(c, type, maxPos, rope),
                latent != null ? latent.qkRopeHeadDim()
                        : (int) (headDim * partialRotary), // transformers truncates, as int() does
                // DeepSeek-V2 rotates adjacent pairs as complex numbers; V3 where rope_interleave says
                glm || cohere || ernie || type.equals(LatentAttentionConfig.V2_MODEL_TYPE)
                        || latent != null && JsonFields.bool(c, "rope_interleave", true, at)
                        ? RotaryLayout.INTERLEAVED : RotaryLayout.HALVES,
                attentionBias,
                switch (type) {
                    case "seed_oss" -> JsonFields.bool(c, "attention_out_bias", false, at);
                    // NOTE: Qwen2's and GLM's attention_bias covers q, k and v alone; LLaMA's all four
                    default -> attentionBias && !type.startsWith("qwen2") && !glm && !type.equals(MoeConfig.GLM_MOE);
                },
                oneBiasSwitch || noBiases ? attentionBias : JsonFields.bool(c, "mlp_bias", false, at),
                type.equals(MoeConfig.ERNIE_MOE) && attentionBias,
                switch (type) {
                    case "qwen3", "qwen3_moe", "gemma3_text", Gemma4Config.MODEL_TYPE, QWEN35_TEXT, QWEN35_MOE_TEXT, QWEN3_NEXT,
                         MoeConfig.QWEN3_VL_MOE_TEXT, "exaone4", APERTUS,
                         ShortConvConfig.MODEL_TYPE, ShortConvConfig.MOE_MODEL_TYPE -> QkNorm.PER_HEAD;
                    case "olmo2", "olmo3", "olmoe" -> QkNorm.ACROSS_HEADS;
                    case "hunyuan_v1_dense" -> QkNorm.PER_HEAD_AFTER_ROTARY;
                    case MoeConfig.GLM_MOE -> JsonFields.bool(c, "use_qk_norm", false, at) ? QkNorm.PER_HEAD : QkNorm.NONE;
                    case "cohere" -> JsonFields.bool(c, "use_qk_norm", false, at) ? QkNorm.PER_HEAD_LAYER : QkNorm.NONE;
                    default -> QkNorm.NONE;
                },
                JsonFields.bool(c, "tie_word_embeddings", gemma, at),
                dropouts(c, type, at),
                attentionScale,
                // NOTE: Gemma 3's attention keeps a configured attn_logit_softcapping but never applies it
                type.equals("gemma2") ? softCap(c, "attn_logit_softcapping", 50.0) : 0f,
                softCap(c, "final_logit_softcapping", type.equals("gemma2") ? 30.0 : 0),
                sliding.window(),
                sliding.layers(),
                ropeLayers,
                // Qwen3.5's RMSNorms scale by 1 + weight in float32 as Gemma's; Gemma 4's by the weight itself
                gemma && !gemma4 || qwen35,
                cohere ? NormKind.LAYER_WITHOUT_BIAS : starcoder2 ? NormKind.LAYER : NormKind.RMS,
                gemma ? (type.equals("gemma3_text") || gemma4 ? EmbeddingScale.TOKENS : EmbeddingScale.INPUT)
                        : granite ? EmbeddingScale.INPUT
                        // Falcon-H1 scales embed_tokens' output: inputs_embeds (virtual tokens) stay unscaled
                        : falconH1 ? EmbeddingScale.TOKENS : EmbeddingScale.NONE,
                gemma ? new Multipliers((float) Math.sqrt(hidden), 1f, 1f)
                        : granite ? graniteMultipliers(c) : cohere ? cohereMultipliers(c)
                        : falconH1 ? falconMultipliers(c) : Multipliers.NONE,
                laterGemma || type.equals("glm4") ? NormPlacement.SANDWICH
                        : olmo || type.equals("exaone4") ? NormPlacement.POST
                        : cohere ? NormPlacement.PARALLEL : NormPlacement.PRE,
                type.equals("phi3"),
                switch (type) {
                    case "phi3", "glm", "glm4" -> DenseMlp.GATE_UP;
                    case "starcoder2" -> DenseMlp.STARCODER2;
                    case "arcee", APERTUS -> DenseMlp.UP_DOWN;
                    case ShortConvConfig.MODEL_TYPE, ShortConvConfig.MOE_MODEL_TYPE -> DenseMlp.LFM2;
                    case ParallelHybridConfig.MODEL_TYPE -> DenseMlp.FALCON_H1;
                    case BlockPattern.MODEL_TYPE -> DenseMlp.NEMOTRON_H;
                    default -> sharedMlp ? DenseMlp.GRANITE_SHARED : DenseMlp.STANDARD;
                },
                type.equals("gpt_oss"),
                MoeConfig.MODEL_TYPES.contains(type) && (!graniteHybrid || GraniteHybridLayers.hasExperts(c))
                        && (blockPattern == null || blockPattern.has(BlockPattern.Kind.MOE))
                        || gemma4 && JsonFields.bool(c, "enable_moe_block", false, at)
                        ? MoeConfig.fromJson(c, type, layers) : null,
                qwen35 ? LinearAttentionConfig.fromJson(c, layers) : null,
                !anyOf(mambaLayers) ? null : blockPattern != null ? MambaConfig.nemotronH(c, mambaLayers)
                        : MambaConfig.fromJson(c, mambaLayers, hidden, falconH1),
                shortConv != null && anyOf(shortConv.layers()) ? shortConv : null,
                qwen35,
                latent,
                parallelHybrid,
                temperature,
                blockPattern,
                gemma4 ? Gemma4Config.fromJson(c, layers, heads, JsonFields.integer(c, "num_key_value_heads", heads, 1,
                        ConfigLimits.HEADS, at), sliding.layers()) : null);
    }

    private static boolean anyOf(boolean[] flags) {
        for (boolean f : flags) {
            if (f) {
                return true;
            }
        }
        return false;
    }

    /** Variants of the families that finetune4j does not implement, refused with what to load instead. */
    private static void refuseUnsupported(JsonNode c, String type, int layers) {
        String at = "config.json";
        // Gemma 4's is a string ("all", "vision") or null: Gemma4Config refuses it
        if (!type.equals(Gemma4Config.MODEL_TYPE) && JsonFields.bool(c, "use_bidirectional_attention", false, at)) {
            throw new IllegalArgumentException(at + ": use_bidirectional_attention (an embedding model such as "
                    + "EmbeddingGemma) is not supported: finetune4j loads Gemma as a causal language model");
        }
        if (type.equals("olmoe") && c.hasNonNull("clip_qkv")) {
            throw new IllegalArgumentException(at + ": clip_qkv = " + c.get("clip_qkv") + " is not supported: finetune4j "
                    + "loads OLMoE without clamping queries, keys and values (the published OLMoE checkpoints set "
                    + "clip_qkv to null)");
        }
        if (type.equals(BlockPattern.MODEL_TYPE)) {
            BlockPattern.refuseUnsupported(c);
        }
        if (LinearAttentionConfig.appliesTo(type) && !c.path("hidden_act").asText("silu").equals("silu")) {
            throw new IllegalArgumentException(at + ": hidden_act = " + c.get("hidden_act") + " is not supported for "
                    + type + ": its gated DeltaNet layers convolve with SiLU, as every Qwen3.5 checkpoint does");
        }
    }

    /** Granite's {@code embedding_multiplier}, {@code residual_multiplier} and {@code logits_scaling}, 1 by default. */
    private static Multipliers graniteMultipliers(JsonNode c) {
        String at = "config.json";
        return new Multipliers(
                (float) JsonFields.number(c, "embedding_multiplier", 1.0, v -> v > 0, "> 0", at),
                (float) JsonFields.number(c, "residual_multiplier", 1.0, v -> v > 0, "> 0", at),
                (float) JsonFields.number(c, "logits_scaling", 1.0, v -> v > 0, "> 0", at));
    }

    /**
     * Falcon-H1's {@code embedding_multiplier} and {@code lm_head_multiplier}, 1 by default; the logits' factor is
     * kept as its inverse, the divisor.
     */
    private static Multipliers falconMultipliers(JsonNode c) {
        String at = "config.json";
        return new Multipliers((float) JsonFields.number(c, "embedding_multiplier", 1.0, v -> v > 0, "> 0", at), 1f,
                (float) (1 / JsonFields.number(c, "lm_head_multiplier", 1.0, v -> v > 0, "> 0", at)));
    }

    /**
     * Cohere's {@code logit_scale}, which multiplies the logits: the divisor is its inverse (exact for the published
     * checkpoints' powers of two).
     */
    private static Multipliers cohereMultipliers(JsonNode c) {
        double scale = JsonFields.number(c, "logit_scale", 0.0625, v -> v > 0, "> 0", "config.json");
        return new Multipliers(1f, 1f, (float) (1 / scale));
    }

    /**
     * The MLP's activation: Gemma 2 and 3 read {@code hidden_activation}; Gemma reads it too when set (its first
     * checkpoints say {@code hidden_act: gelu} beside {@code hidden_activation: gelu_pytorch_tanh}, the function
     * they were trained with), else {@code hidden_act}; GELU's tanh approximation is the Gemma default. The others
     * read {@code hidden_act}, SiLU by default. Apertus's {@code xielu}: null ({@link #xielu()}).
     */
    private static Activations.Kind activation(JsonNode c, String type) {
        if (type.equals(APERTUS) && c.path("hidden_act").asText().equals(XIELU)) {
            return null; // a module with parameters, not a Kind (xielu())
        }
        String name = switch (type) {
            case "gemma2", "gemma3_text", Gemma4Config.MODEL_TYPE ->
                    c.path("hidden_activation").asText("gelu_pytorch_tanh");
            case "gemma" -> c.hasNonNull("hidden_activation") ? c.get("hidden_activation").asText()
                    : c.path("hidden_act").asText("gelu_pytorch_tanh");
            case BlockPattern.MODEL_TYPE -> c.path("mlp_hidden_act").asText("relu2");
            default -> c.path("hidden_act").asText("silu");
        };
        return Activations.Kind.fromConfig(name);
    }

    /**
     * The rotary settings of sliding-window layers: their own where transformers 5's {@code rope_parameters} is keyed
     * by layer type; else, unscaled, Gemma 3's older {@code rope_local_base_freq} or Olmo 3's class default theta;
     * else the full layers' settings.
     */
    private static RopeConfig localRope(JsonNode c, String type, int maxPos, RopeConfig rope) {
        JsonNode params = JsonFields.object(c, "rope_parameters", "config.json");
        if (params.has("sliding_attention")) {
            return RopeConfig.fromJson(c, maxPos, "sliding_attention");
        }
        double theta = switch (type) {
            case "gemma3_text" -> JsonFields.number(c, "rope_local_base_freq", 10000.0, v -> v > 1, "> 1", "config.json");
            // NOTE: Olmo3Config turns a flat config's rope settings into the full layers' alone; its sliding layers
            // rotate unscaled with the class's default theta, not the config's rope_theta (the published Olmo 3
            // checkpoints use 500,000 for both)
            case "olmo3" -> 500_000.0;
            default -> Double.NaN;
        };
        return Double.isNaN(theta) ? rope
                : new RopeConfig(theta, "default", 1, 1, 4, maxPos, 32, 1, true, Double.NaN, new double[0], new double[0],
                        Double.NaN, 0, 1);
    }

    /**
     * The family's training dropouts where its transformers class applies them: ERNIE 4.5's and LFM2's attention
     * never drops (their classes ignore {@code attention_dropout}), and only Phi-3, StarCoder2 and Seed-OSS drop the
     * sub-layers' outputs (StarCoder2 the embeddings too).
     */
    private static Dropouts dropouts(JsonNode c, String type, String at) {
        boolean attentionIgnored = type.equals("ernie4_5") || type.equals(MoeConfig.ERNIE_MOE)
                || type.equals(ShortConvConfig.MODEL_TYPE) || type.equals(ShortConvConfig.MOE_MODEL_TYPE);
        String residual = switch (type) {
            case "phi3" -> "resid_pdrop";
            case "starcoder2", "seed_oss" -> "residual_dropout";
            default -> null;
        };
        return new Dropouts(attentionIgnored ? 0f : Dropouts.probability(c, "attention_dropout", 0, at),
                residual == null ? 0f : Dropouts.probability(c, residual, 0, at),
                type.equals("starcoder2") ? Dropouts.probability(c, "embedding_dropout", 0, at) : 0f);
    }

    private static float softCap(JsonNode c, String field, double fallback) {
        if (c.has(field) && c.get(field).isNull()) {
            return 0f; // null switches the cap off
        }
        return (float) JsonFields.number(c, field, fallback, v -> v > 0, "> 0 (or null for none)", "config.json");
    }

    /**
     * The shape facts of a model of this configuration.
     *
     * @return the model's spec
     */
    public ModelSpec spec() {
        return new ModelSpec(modelType, vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, maxPositionEmbeddings, true);
    }

    /**
     * The row of {@code embed_tokens} whose gradient transformers' {@code nn.Embedding(padding_idx=pad_token_id)} keeps
     * at zero, a negative {@code pad_token_id} counted from the end as torch counts it; -1 without one.
     */
    private static int paddingRow(JsonNode c, int vocab, String at) {
        int pad = JsonFields.integer(c, "pad_token_id", Integer.MIN_VALUE, -vocab, vocab - 1, at);
        return pad == Integer.MIN_VALUE ? -1 : Math.floorMod(pad, vocab);
    }
}
