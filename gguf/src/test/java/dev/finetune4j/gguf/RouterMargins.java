package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderLayer;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * How clearly a mixture of experts routes a sequence: for every token of every sparse layer, how far its router's
 * logits are from a tie that would change its experts. Routing is discrete, so llama.cpp's logits equal finetune4j's
 * only where no token is near a tie that float32 summation order or llama.cpp's rounding of activations (which moves
 * the router's logits by about 0.01 at Q8_0) could tip to another expert.
 *
 * <p>For a softmax router that picks by the probabilities alone, the margin is the gap between a token's k-th and
 * (k+1)-th logit (the gap of their log-probabilities): twice the least change of every logit that could tip the choice.
 * A router that picks by its scores plus a selection bias, within the best groups of experts (GLM-4.5's, ERNIE-4.5's),
 * is stated here again from transformers' rule and its margin given in the same units, to first order: each gap of its
 * choices (the k-th and (k+1)-th selection score among the kept groups; the last kept and the first dropped group's
 * score, a group scored by the sum of its two best, or DeepSeek-V2's by its best) times 2, divided by how fast the two
 * sides can close it when every logit moves by at most 1 (the sum of their scores' slopes: s (1 - s) for a sigmoid, 2 p
 * (1 - p) for a softmax probability).
 */
final class RouterMargins {
    /** The selection biases as the checkpoints name them (SparseMoeBlock's names for them). */
    private static final String CORRECTION = "e_score_correction_bias";
    private static final String STATICS = "moe_statics";
    private static final String BLOCK_BIAS = "expert_bias";

    private RouterMargins() {
    }

    /**
     * The smallest margin over the tokens of {@code ids}, with where it is, the experts of each router that none of the
     * tokens chose, and how many of the (router, token) pairs the selection bias and the group limit each change the
     * experts of.
     */
    static Margin smallest(DecoderModel model, long[] ids, int k) {
        MoeConfig moe = model.config().moe();
        List<Recorder> recorders = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            // Gemma 4's router is its layer's own child, beside the MLP
            boolean holdsRouter = e.getValue() instanceof SparseMoeBlock || moe.naming().besideMlp()
                    && e.getValue() instanceof DecoderLayer && e.getValue().children().containsKey(moe.naming().router());
            if (holdsRouter) {
                recorders.add(new Recorder(e.getValue(), moe.naming().router(), e.getKey()));
            }
        }
        try {
            model.logits(new long[][] {ids}, null);
        } finally {
            recorders.forEach(Recorder::restore);
        }
        Margin worst = new Margin(Double.POSITIVE_INFINITY, "no router", List.of(), 0, 0);
        List<String> unchosen = new ArrayList<>();
        int biasMoves = 0;
        int groupsMove = 0;
        for (Recorder r : recorders) {
            int experts = moe.numExperts();
            float[] bias = r.selectionBias(moe);
            boolean[] chosen = new boolean[experts];
            for (int t = 0; t < ids.length; t++) {
                float[] logits = Arrays.copyOfRange(r.logits, t * experts, (t + 1) * experts);
                Choice choice = choose(logits, bias, moe.routing(), k, true);
                if (choice.margin() < worst.gap()) {
                    worst = new Margin(choice.margin(), r.path + ", token " + t, List.of(), 0, 0);
                }
                for (int e = 0; e < experts; e++) {
                    chosen[e] |= choice.experts()[e];
                }
                if (bias != null && !Arrays.equals(choice.experts(),
                        choose(logits, new float[experts], moe.routing(), k, true).experts())) {
                    biasMoves++;
                }
                if (!Arrays.equals(choice.experts(), choose(logits, bias, moe.routing(), k, false).experts())) {
                    groupsMove++;
                }
            }
            for (int e = 0; e < experts; e++) {
                if (!chosen[e]) {
                    unchosen.add(r.path + ", expert " + e);
                }
            }
        }
        return new Margin(worst.gap(), worst.where(), unchosen, biasMoves, groupsMove);
    }

    /**
     * One token's experts by {@code rule} from its router {@code logits} and the selection {@code bias} (null: none),
     * within the best groups where {@code groups} says, with the margin of that choice (see the class comment).
     */
    private static Choice choose(float[] logits, float[] bias, MoeConfig.Routing rule, int k, boolean groups) {
        int n = logits.length;
        boolean plain = bias == null && !rule.sigmoid() && rule.groups() == 1;
        double[] probabilities = plain ? null : rule.sigmoid() ? sigmoid(logits) : softmax(logits);
        double[] scores = new double[n];
        double[] slopes = new double[n];
        for (int e = 0; e < n; e++) {
            scores[e] = plain ? logits[e] : probabilities[e] + (bias == null ? 0 : bias[e]);
            // how fast the score follows a change of all logits by at most 1: a sigmoid's derivative, a softmax
            // probability's summed over the logits (2 p (1 - p)), a logit's own 1
            double p = plain ? 0 : probabilities[e];
            slopes[e] = plain ? 1 : rule.sigmoid() ? p * (1 - p) : 2 * p * (1 - p);
        }
        boolean[] allowed = new boolean[n];
        Arrays.fill(allowed, true);
        double margin = Double.POSITIVE_INFINITY;
        int keep = rule.groupsPerToken();
        if (groups && rule.groups() > 1 && keep < rule.groups()) {
            int size = n / rule.groups();
            double[] groupScores = new double[rule.groups()];
            double[] groupSlopes = new double[rule.groups()];
            for (int g = 0; g < groupScores.length; g++) {
                int[] best = ranked(scores, IntStream.range(g * size, (g + 1) * size).toArray());
                boolean sum = rule.groupScore() == MoeConfig.GroupScore.TOP_TWO_SUM;
                groupScores[g] = scores[best[0]] + (sum ? scores[best[1]] : 0);
                groupSlopes[g] = slopes[best[0]] + (sum ? slopes[best[1]] : 0);
            }
            int[] order = ranked(groupScores, IntStream.range(0, groupScores.length).toArray());
            int last = order[keep - 1];
            int first = order[keep];
            margin = 2 * (groupScores[last] - groupScores[first]) / (groupSlopes[last] + groupSlopes[first]);
            for (int j = keep; j < order.length; j++) {
                Arrays.fill(allowed, order[j] * size, (order[j] + 1) * size, false);
            }
        }
        int[] order = ranked(scores, IntStream.range(0, n).filter(e -> allowed[e]).toArray());
        int kth = order[k - 1];
        int next = order[k];
        margin = Math.min(margin, 2 * (scores[kth] - scores[next]) / (slopes[kth] + slopes[next]));
        boolean[] experts = new boolean[n];
        for (int j = 0; j < k; j++) {
            experts[order[j]] = true;
        }
        return new Choice(experts, margin);
    }

    /** {@code indices} ordered by their {@code values}, highest first. */
    private static int[] ranked(double[] values, int[] indices) {
        return Arrays.stream(indices).boxed().sorted((a, b) -> Double.compare(values[b], values[a]))
                .mapToInt(Integer::intValue).toArray();
    }

    private static double[] sigmoid(float[] logits) {
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = 1 / (1 + Math.exp(-logits[i]));
        }
        return out;
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] out = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.exp(logits[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /** A token's experts (true where chosen) and the margin of that choice. */
    private record Choice(boolean[] experts, double margin) {
    }

    /**
     * The smallest margin and where (the router's path and the token's position), the experts no token chose (an
     * expert no token reaches is not checked against llama.cpp's, whatever the file holds for it), and how many
     * (router, token) pairs the selection bias changes the experts of (against no bias) and the group limit does
     * (against picking among all experts).
     */
    record Margin(double gap, String where, List<String> unchosen, int biasMoves, int groupsMove) {
    }

    /** Stands in for a block's router while the model runs, keeping its logits (tokens x experts). */
    private static final class Recorder extends Module implements Layer {
        private final Module block;
        private final String name;
        private final Layer router;
        private final String path;
        private float[] logits;

        Recorder(Module block, String name, String path) {
            this.block = block;
            this.name = name;
            this.router = (Layer) block.children().get(name);
            this.path = path;
            block.replaceChild(name, this);
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor out = router.forward(x);
            logits = out.toFloatArray();
            return out;
        }

        /** The block's selection bias (E), wherever its family keeps it; null for none. */
        float[] selectionBias(MoeConfig moe) {
            return switch (moe.routing().selectionBias()) {
                case NONE -> null;
                case ROUTER -> ((Module) router).parameter(CORRECTION).toFloatArray();
                case STATICS -> block.child(STATICS).parameter(CORRECTION).toFloatArray();
                case BLOCK -> block.parameter(BLOCK_BIAS).toFloatArray();
            };
        }

        void restore() {
            block.replaceChild(name, (Module) router);
        }
    }
}
