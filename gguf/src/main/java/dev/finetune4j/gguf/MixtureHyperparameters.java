package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.gguf.LlamaCppArchitecture.Mixture;
import dev.finetune4j.gguf.LlamaCppArchitecture.Renormalisation;
import dev.finetune4j.gguf.LlamaCppArchitecture.Router;
import dev.finetune4j.gguf.LlamaCppArchitecture.SharedExperts;
import dev.finetune4j.gguf.LlamaCppArchitecture.SparseLayers;

import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * A mixture of experts' config as its GGUF architecture's {@code <arch>.expert_*} keys, and the refusal of what those
 * keys cannot say, from the graph's {@link Mixture} (llama.cpp's {@code build_moe_ffn} in src/llama-graph.cpp and each
 * graph's src/models/*.cpp): which layers route, whether the router scores by a softmax or a sigmoid, a selection bias,
 * group-limited selection, renormalisation, a scale of the weights and shared experts. The keys are those the
 * converter writes, but for two: the group keys, which it writes for DeepSeek's architectures and not for glm4moe,
 * though llama.cpp reads them for every architecture (so GLM-4.5's {@code n_group} and {@code topk_group} are computed
 * as transformers does), and ERNIE-4.5's {@code expert_shared_feed_forward_length}, the shared experts' true width
 * where the converter writes {@code intermediate_size / num_key_value_heads} (the published models' width, not in
 * general).
 */
final class MixtureHyperparameters {
    /** llama.cpp's {@code LLAMA_MAX_EXPERTS}: a file with more experts per layer fails to load. */
    private static final int MAX_EXPERTS = 1024;
    /** {@code expert_gating_func}'s values for a softmax and a sigmoid ({@code llama_expert_gating_func_type}). */
    private static final int GATING_SOFTMAX = 1;
    private static final int GATING_SIGMOID = 2;

    private final MoeConfig moe;
    private final Mixture graph;
    private final int layers;

    /**
     * The mixture {@code moe} of a model of {@code layers} layers in a graph of {@code graph}, checked: each thing the
     * graph cannot compute is passed to {@code cannot}, which throws.
     */
    MixtureHyperparameters(MoeConfig moe, Mixture graph, int layers, Consumer<String> cannot) {
        this.moe = moe;
        this.graph = graph;
        this.layers = layers;
        refuseWhatGgufCannotSay(cannot);
    }

    /**
     * What the graph fixes: which layers route, the renormalisation (always for llama's Mixtral, qwen3moe, qwen35moe and
     * ernie4_5-moe, never for qwen2moe and olmoe), the shared experts it requires (qwen2moe's, qwen35moe's and
     * glm4moe's), and a softmax router picking by the probabilities alone, with ernie4_5-moe's selection bias, or what
     * glm4moe's keys say (groups scored by their two best, as DeepSeek-V3's: DeepSeek-V2's by their best refused).
     */
    private void refuseWhatGgufCannotSay(Consumer<String> cannot) {
        if (moe.numExperts() > MAX_EXPERTS) {
            cannot.accept(moe.numExperts() + " experts per layer (llama.cpp loads at most " + MAX_EXPERTS + ")");
        }
        refuseDenseLayersItCannotPlace(cannot);
        // NOTE: transformers divides by the chosen weights' sum plus 1e-20 (GLM-4.5, DeepSeek-V3, Mistral 4), llama.cpp by
        // the sum clamped below at 2^-14: they differ only for a sum below 6.1e-5, which a softmax's never is (its pick
        // holds the best expert of the best group, at least 1/E >= 1/1024) and a sigmoid's only where every chosen
        // logit is below about -12
        Renormalisation renormalisation = graph.renormalisation();
        if (renormalisation != Renormalisation.KEYED && moe.normTopkProb() != (renormalisation == Renormalisation.ALWAYS)) {
            cannot.accept("norm_topk_prob " + moe.normTopkProb() + " (its graph " + (renormalisation
                    == Renormalisation.ALWAYS ? "always renormalises" : "never renormalises") + " the "
                    + moe.numExpertsPerTok() + " routing weights of a token)");
        }
        boolean required = graph.sharedExperts() == SharedExperts.GATED || graph.sharedExperts() == SharedExperts.COUNTED;
        if (required && moe.sharedExpertIntermediateSize() == 0) {
            cannot.accept("a mixture without a shared expert (shared_expert_intermediate_size or n_shared_experts 0; its "
                    + "graph requires one)");
        }
        MoeConfig.Routing routing = moe.routing();
        boolean keyed = graph.router() == Router.KEYED;
        if (routing.sigmoid() && !keyed) {
            cannot.accept("a sigmoid router (its graph scores the experts by a softmax)");
        }
        if (routing.selectionBias() != MoeConfig.SelectionBias.NONE && graph.router() == Router.SOFTMAX) {
            cannot.accept("a selection bias of the router (e_score_correction_bias or expert_bias; its graph picks the "
                    + "experts by their probabilities alone)");
        }
        if (limitsGroups() && !keyed) {
            cannot.accept("group-limited routing (n_group " + routing.groups() + ", topk_group "
                    + routing.groupsPerToken() + ")");
        }
        if (limitsGroups() && keyed && routing.groupScore() != MoeConfig.GroupScore.TOP_TWO_SUM) {
            cannot.accept("groups of experts scored by their best probability (DeepSeek-V2's topk_method "
                    + "group_limited_greedy; its graph scores a group by the sum of its two best, as DeepSeek-V3 does)");
        }
        if (routing.scalingFactor() != 1f && !keyed) {
            cannot.accept("routed_scaling_factor " + routing.scalingFactor() + " (its graph does not scale the routing "
                    + "weights)");
        }
    }

    /**
     * Refuses dense layers where the graph routes: anywhere in most graphs, after the leading ones in glm4moe's and
     * ernie4_5-moe's (whose loader reads every layer from the leading count on as sparse, whatever the step).
     */
    private void refuseDenseLayersItCannotPlace(Consumer<String> cannot) {
        if (graph.sparseLayers() == SparseLayers.FEED_FORWARD_LAYERS) {
            return; // Nemotron-H's block pattern places them (DecoderHyperparameters)
        }
        int leading = leadingDenseLayers();
        List<Integer> misplaced = IntStream.range(graph.sparseLayers() == SparseLayers.EVERY ? 0 : leading, layers)
                .filter(i -> !moe.isSparse(i)).boxed().toList();
        if (misplaced.isEmpty()) {
            return;
        }
        cannot.accept(graph.sparseLayers() == SparseLayers.EVERY
                ? "dense MLP layers " + misplaced + " between the sparse ones (mlp_only_layers or decoder_sparse_step): "
                        + "every layer of its graph routes through experts"
                : "dense MLP layers " + misplaced + " after the first sparse one, layer " + leading
                        + " (moe_layer_interval or moe_layer_end_index): its graph routes every layer after the "
                        + leading + " leading dense ones");
    }

    /** The dense layers before the first sparse one. */
    private int leadingDenseLayers() {
        int leading = 0;
        while (leading < layers && !moe.isSparse(leading)) {
            leading++;
        }
        return leading;
    }

    /** Whether the router keeps only some of the groups of experts for a token. */
    private boolean limitsGroups() {
        return moe.routing().groups() > 1 && moe.routing().groupsPerToken() < moe.routing().groups();
    }

    /**
     * The keys, {@code a} the architecture's prefix: counts and widths, then which layers route, the shared experts'
     * size and, for a keyed router, its gating function, scale, renormalisation and groups.
     */
    void put(GgufMetadata meta, String a) {
        // llama (Mixtral) and olmoe size their experts by feed_forward_length, the others by their own key
        meta.putUint32(a + "expert_count", moe.numExperts())
                .putUint32(a + "expert_used_count", moe.numExpertsPerTok());
        if (graph.expertWidthKey()) {
            meta.putUint32(a + "expert_feed_forward_length", moe.expertIntermediateSize());
        }
        int shared = moe.sharedExpertIntermediateSize();
        SharedExperts sharing = graph.sharedExperts();
        if (shared > 0 && (sharing == SharedExperts.GATED || sharing == SharedExperts.UNGATED)) {
            meta.putUint32(a + "expert_shared_feed_forward_length", shared);
        }
        if (shared > 0 && (sharing == SharedExperts.COUNTED || sharing == SharedExperts.UNGATED)) {
            meta.putUint32(a + "expert_shared_count", shared / moe.expertIntermediateSize());
        }
        if (graph.sparseLayers() == SparseLayers.AFTER_LEADING_DENSE
                || graph.sparseLayers() == SparseLayers.AFTER_LEADING_DENSE_BY_STEP) {
            meta.putUint32(a + "leading_dense_block_count", leadingDenseLayers());
        }
        if (graph.sparseLayers() == SparseLayers.AFTER_LEADING_DENSE_BY_STEP) {
            meta.putUint32(a + "interleave_moe_layer_step", 1); // the only step its loader reads
        }
        if (graph.router() == Router.KEYED) {
            MoeConfig.Routing routing = moe.routing();
            meta.putUint32(a + "expert_gating_func", routing.sigmoid() ? GATING_SIGMOID : GATING_SOFTMAX)
                    .putFloat32(a + "expert_weights_scale", routing.scalingFactor());
            if (limitsGroups()) {
                meta.putUint32(a + "expert_group_count", routing.groups())
                        .putUint32(a + "expert_group_used_count", routing.groupsPerToken());
            }
        }
        if (graph.renormalisation() == Renormalisation.KEYED) {
            meta.putBool(a + "expert_weights_norm", moe.normTopkProb());
        }
    }
}
