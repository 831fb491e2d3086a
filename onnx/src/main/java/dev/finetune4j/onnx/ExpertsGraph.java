package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.BlockPattern;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;
import dev.finetune4j.onnx.proto.OnnxProto.GraphProto;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static dev.finetune4j.onnx.GraphBuilder.BOOL;
import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.INT64;
import static dev.finetune4j.onnx.GraphBuilder.graphAttr;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.stringAttr;

/**
 * A sparse mixture of experts in standard ONNX operators (opset 17, or 21 with quantized weights; no contrib ops), what {@link SparseMoeBlock}
 * computes: the router's scores (a softmax over its logits, or each logit's sigmoid), each token's k experts of the
 * highest scores (plus the family's selection bias, within the token's best groups of experts where the family has
 * groups: GLM-4.5's, DeepSeek-V3's and Mistral 4's scored by their two best scores, DeepSeek-V2's
 * {@code group_limited_greedy} by their best), their scores as weights (renormalised and scaled as {@link MoeConfig.Routing} says), and each expert's MLP
 * over the tokens routed to it alone ({@link #dispatch}): N k rows of work in all, whatever E is; an expert no token
 * chose multiplies an empty matrix. Each expert's weights are initializers of their own, which the dispatch reads from
 * the outer scope of the Loop it runs in (see {@link #mix}).
 *
 * <p>Shapes: N tokens (batch times sequence, flattened), C hidden, E experts, k experts per token.
 */
final class ExpertsGraph {
    /**
     * The mixtures whose router and experts this graph computes and whose attention {@link DecoderGraph} does; the
     * others are refused by {@link OnnxExporter}.
     */
    static final Set<String> MODEL_TYPES = Set.of("mixtral", "qwen3_moe", "olmoe", "qwen2_moe", "granitemoe",
            "granitemoeshared", MoeConfig.GLM_MOE, MoeConfig.ERNIE_MOE, "gpt_oss", LatentAttentionConfig.MODEL_TYPE,
            LatentAttentionConfig.V2_MODEL_TYPE, LatentAttentionConfig.MISTRAL4_MODEL_TYPE, "lfm2_moe",
            "granitemoehybrid", "qwen3_next", "qwen3_5_moe_text", BlockPattern.MODEL_TYPE, Gemma4Config.MODEL_TYPE);

    /** One expert's MLP over the tokens routed to it. */
    interface Expert {
        /**
         * @param expert the expert's index
         * @param tokens its tokens, (M, C)
         * @return its output, (M, C)
         */
        String apply(int expert, String tokens) throws IOException;
    }

    private final GraphBuilder g;
    private final MoeConfig moe;
    /** C. */
    private final int hidden;

    ExpertsGraph(GraphBuilder g, MoeConfig moe, int hidden) {
        this.g = g;
        this.moe = moe;
        this.hidden = hidden;
    }

    /**
     * The routed experts' weighted sum: tokens (N, C) -> (N, C).
     *
     * @param router the router's weight, stored (C, E)
     * @param routerBias the router's bias (E) (gpt-oss's), added to its logits; null for none
     * @param selectionBias the scores' selection bias, (E) or (1, E), which picks experts and weighs none; null for none
     */
    String mix(String tokens, String router, String routerBias, String selectionBias, Expert expert) throws IOException {
        String product = g.op("MatMul", List.of(tokens, router));                                         // (N, E)
        String logits = routerBias == null ? product : g.op("Add", List.of(product, routerBias));
        return mixByLogits(tokens, logits, selectionBias, null, expert);
    }

    /**
     * The routed experts' weighted sum of tokens (N, C) -> (N, C), routed by {@code logits} (N, E) that the caller
     * computed (Gemma 4's router reads the residual stream, its experts that stream's norm).
     *
     * @param selectionBias the scores' selection bias, (E) or (1, E), which picks experts and weighs none; null for none
     * @param expertScales a factor per expert (E) on each chosen expert's weight after the renormalisation (Gemma 4's
     *                     {@code per_expert_scale}); null for none
     */
    String mixByLogits(String tokens, String logits, String selectionBias, String expertScales, Expert expert)
            throws IOException {
        MoeConfig.Routing rule = moe.routing();
        String scores = rule.sigmoid() ? g.op("Sigmoid", List.of(logits)) : g.op("Softmax", List.of(logits), intAttr("axis", -1));
        String pickBy = selectionBias == null ? scores : g.op("Add", List.of(scores, selectionBias));
        if (rule.groups() > 1) {
            pickBy = withinBestGroups(pickBy, rule);
        }
        // NOTE: TopK's sorted output breaks ties to the lower index, as torch.topk and core's ExpertRouting do
        String chosen = g.ops(2, "TopK", List.of(pickBy, g.ints(moe.numExpertsPerTok())), intAttr("axis", -1)).get(1);
        String weights = g.op("GatherElements", List.of(scores, chosen), intAttr("axis", 1));          // (N, k)
        if (moe.normTopkProb()) {
            String sum = g.op("ReduceSum", List.of(weights, g.ints(-1)), intAttr("keepdims", 1));
            weights = g.op("Div", List.of(weights,
                    rule.normEpsilon() == 0f ? sum : g.op("Add", List.of(sum, g.scalar(rule.normEpsilon())))));
        }
        if (rule.scalingFactor() != 1f) {
            weights = g.op("Mul", List.of(weights, g.scalar(rule.scalingFactor())));
        }
        if (expertScales != null) {
            weights = g.op("Mul", List.of(weights, g.op("Gather", List.of(expertScales, chosen))));    // (N, k)
        }
        String routedWeights = weights;
        // NOTE: in a Loop of one iteration, not inline: ONNX Runtime plans a graph's memory by comparing each new value
        // with every freed one it might reuse, and the experts' values, each of its own data-dependent size, are never
        // reused, which makes that planning quadratic in all the layers' experts together: 8 layers of 128 experts took
        // 31 s to open inline, 4.6 s as Loops, whose bodies are planned one block at a time
        GraphProto body = g.subgraph("experts", () -> {
            g.input(g.name("iteration"), INT64);
            String condition = g.name("condition");
            g.input(condition, BOOL);
            g.outputOfAnyShape(g.op("Identity", List.of(condition)), BOOL);
            g.outputOfAnyShape(dispatch(tokens, chosen, routedWeights, expert), FLOAT);
        });
        String looped = g.op("Loop", List.of(g.scalar(1L), ""), graphAttr("body", body));              // (1, N, C)
        return g.op("Squeeze", List.of(looped, g.ints(0)));
    }

    /**
     * Each expert's MLP over its tokens alone, as core's {@code ExpertRouting} lays them out: the N k (token, slot)
     * pairs sorted by expert, the tokens gathered in that order and split into one group per expert, each group through
     * its expert, the results weighted, put back in (token, slot) order and summed over each token's k slots. tokens
     * (N, C), chosen and weights (N, k) -> (N, C).
     */
    private String dispatch(String tokens, String chosen, String weights, Expert expert) throws IOException {
        int k = moe.numExpertsPerTok();
        String experts = g.op("Reshape", List.of(chosen, g.ints(-1)));                                      // (N k)
        String pairs = g.op("Shape", List.of(experts));
        // NOTE: a sort by expert that keeps the pairs of one expert in token order, as TopK breaks ties to the lower index
        String byExpert = g.ops(2, "TopK", List.of(experts, pairs), intAttr("largest", 0)).get(1);         // (N k)
        String grouped = g.op("Gather", List.of(tokens, g.op("Div", List.of(byExpert, g.scalar((long) k)))),
                intAttr("axis", 0));                                                                          // (N k, C)
        String ones = g.op("Expand", List.of(g.scalar(1L), pairs));
        String counts = g.op("ScatterElements", List.of(g.ints(new long[moe.numExperts()]), experts, ones),
                intAttr("axis", 0), stringAttr("reduction", "add"));                                          // (E)
        List<String> groups = g.ops(moe.numExperts(), "Split", List.of(grouped, counts), intAttr("axis", 0));
        String[] results = new String[groups.size()];
        for (int e = 0; e < results.length; e++) {
            results[e] = expert.apply(e, groups.get(e));                                                      // (M_e, C)
        }
        String sortedWeights = g.op("Gather", List.of(g.op("Reshape", List.of(weights, g.ints(-1))), byExpert),
                intAttr("axis", 0));
        String weighted = g.op("Mul", List.of(g.op("Concat", List.of(results), intAttr("axis", 0)),
                g.op("Unsqueeze", List.of(sortedWeights, g.ints(1)))));                                       // (N k, C)
        // the sort's inverse permutation puts each result back at its (token, slot) pair
        String inverse = g.ops(2, "TopK", List.of(byExpert, pairs), intAttr("largest", 0)).get(1);
        String perSlot = g.op("Reshape", List.of(g.op("Gather", List.of(weighted, inverse), intAttr("axis", 0)),
                g.ints(-1, k, hidden)));                                                                           // (N, k, C)
        return g.op("ReduceSum", List.of(perSlot, g.ints(1)), intAttr("keepdims", 0));
    }

    /**
     * GLM-4.5's, DeepSeek-V2's, DeepSeek-V3's and Mistral 4's group selection: the scores (N, E) of the experts outside a token's
     * {@code groupsPerToken} best groups (a group scored by the sum of its two best scores, or by its best) set to
     * minus infinity, so that no token picks them, as transformers masks them.
     */
    private String withinBestGroups(String pickBy, MoeConfig.Routing rule) {
        int groups = rule.groups();
        String grouped = g.op("Reshape", List.of(pickBy, g.ints(0, groups, moe.numExperts() / groups)));  // (N, G, E/G)
        int counted = rule.groupScore() == MoeConfig.GroupScore.TOP_TWO_SUM ? 2 : 1;
        String best = g.ops(2, "TopK", List.of(grouped, g.ints(counted)), intAttr("axis", -1)).getFirst();
        String groupScores = g.op("ReduceSum", List.of(best, g.ints(-1)), intAttr("keepdims", 0));          // (N, G)
        String kept = g.ops(2, "TopK", List.of(groupScores, g.ints(rule.groupsPerToken())), intAttr("axis", -1)).get(1);
        long[] all = new long[groups];
        for (int i = 0; i < groups; i++) {
            all[i] = i;
        }
        // (N, topk_group, G): whether group j is the token's i-th kept group; a group is kept when any i says so
        String isKept = g.op("Equal", List.of(g.op("Unsqueeze", List.of(kept, g.ints(-1))), g.ints(all)));
        String keptMask = g.reduce("ReduceMax", g.op("Cast", List.of(isKept), intAttr("to", FLOAT)), false, 1); // (N, G)
        String reachable = g.op("Cast", List.of(g.op("Unsqueeze", List.of(keptMask, g.ints(-1)))),
                intAttr("to", BOOL));                                                          // (N, G, 1)
        String masked = g.op("Where", List.of(reachable, grouped, g.scalar(Float.NEGATIVE_INFINITY)));
        return g.op("Reshape", List.of(masked, g.ints(0, moe.numExperts())));
    }
}
