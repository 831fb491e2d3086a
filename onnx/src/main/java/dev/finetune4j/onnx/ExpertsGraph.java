package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;
import static dev.finetune4j.onnx.GraphBuilder.stringAttr;

/**
 * A sparse mixture of experts in standard ONNX operators (opset 17, no contrib ops), what {@link SparseMoeBlock}
 * computes: the router's scores (a softmax over its logits, or each logit's sigmoid), each token's k experts of the
 * highest scores (plus the family's selection bias, within the token's best groups of experts where the family has
 * groups), their scores as weights (renormalised and scaled as {@link MoeConfig.Routing} says), and each expert's MLP
 * over the tokens routed to it alone: its rows found by NonZero, gathered, transformed, weighted and added back into
 * the output by ScatterND. Every token meets an expert at most once, so the scattered additions never collide; an
 * expert no token chose multiplies an empty matrix.
 *
 * <p>Shapes: N tokens (batch times sequence, flattened), C hidden, E experts, k experts per token.
 */
final class ExpertsGraph {
    /**
     * The mixtures whose router and experts this graph computes and whose attention {@link DecoderGraph} does; the
     * others are refused by {@link OnnxExporter}.
     */
    static final Set<String> MODEL_TYPES = Set.of("mixtral", "qwen3_moe", "olmoe", "qwen2_moe", "granitemoe",
            "granitemoeshared", MoeConfig.GLM_MOE, MoeConfig.ERNIE_MOE);

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

    ExpertsGraph(GraphBuilder g, MoeConfig moe) {
        this.g = g;
        this.moe = moe;
    }

    /**
     * The routed experts' weighted sum: tokens (N, C) -> (N, C).
     *
     * @param router the router's weight, stored (C, E)
     * @param selectionBias the scores' selection bias, (E) or (1, E), which picks experts and weighs none; null for none
     */
    String mix(String tokens, String router, String selectionBias, Expert expert) throws IOException {
        String logits = g.op("MatMul", List.of(tokens, router));                                          // (N, E)
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
        String out = g.op("ConstantOfShape", List.of(g.op("Shape", List.of(tokens))));                  // (N, C) zeros
        for (int e = 0; e < moe.numExperts(); e++) {
            // (2, M): the row and the slot of each token that chose expert e
            String routed = g.op("NonZero", List.of(g.op("Equal", List.of(chosen, g.scalar((long) e)))));
            String rows = g.op("Gather", List.of(routed, g.scalar(0L)), intAttr("axis", 0));             // (M)
            String weight = g.op("GatherND", List.of(weights, g.op("Transpose", List.of(routed))));       // (M)
            String result = expert.apply(e, g.op("Gather", List.of(tokens, rows), intAttr("axis", 0)));  // (M, C)
            String weighted = g.op("Mul", List.of(result, g.op("Unsqueeze", List.of(weight, g.ints(1)))));
            out = g.op("ScatterND", List.of(out, g.op("Unsqueeze", List.of(rows, g.ints(1))), weighted),
                    stringAttr("reduction", "add"));
        }
        return out;
    }

    /**
     * GLM-4.5's and DeepSeek-V3's group selection: the scores (N, E) of the experts outside a token's
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
        String keptMask = g.op("ReduceMax", List.of(g.op("Cast", List.of(isKept), intAttr("to", FLOAT))),
                intsAttr("axes", 1), intAttr("keepdims", 0));                                               // (N, G)
        String reachable = g.op("Cast", List.of(g.op("Unsqueeze", List.of(keptMask, g.ints(-1)))),
                intAttr("to", GraphBuilder.BOOL));                                                          // (N, G, 1)
        String masked = g.op("Where", List.of(reachable, grouped, g.scalar(Float.NEGATIVE_INFINITY)));
        return g.op("Reshape", List.of(masked, g.ints(0, moe.numExperts())));
    }
}
