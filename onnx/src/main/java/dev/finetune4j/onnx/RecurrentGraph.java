package dev.finetune4j.onnx;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.models.decoder.BlockPattern;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.LinearAttentionConfig;
import dev.finetune4j.core.models.decoder.MambaConfig;
import dev.finetune4j.core.models.decoder.ParallelHybridConfig;
import dev.finetune4j.core.models.decoder.ShortConvConfig;
import dev.finetune4j.onnx.proto.OnnxProto.GraphProto;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.graphAttr;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;

/**
 * The token mixers that keep a state instead of keys and values, node for node what core's {@code ShortConv} (LFM2),
 * {@code Mamba2Mixer} (Granite 4.0 H, Nemotron-H's Mamba-2 blocks, Falcon-H1's beside the attention of every layer)
 * and {@code GatedDeltaNet} (Qwen3.5, Qwen3-Next) compute, with their state as graph inputs and outputs beside the
 * attention layers' pasts, named as ONNX Runtime GenAI's model builder names them:
 * <ul>
 *   <li>LFM2's convolution layer N: {@code past_conv.N} / {@code present_conv.N}, float (B, C, L_cache), the layer's
 *       last L_cache convolution inputs, channels first (transformers' and GenAI's layout; the oldest is never
 *       read);</li>
 *   <li>a Mamba-2 or gated DeltaNet layer N: {@code past_key_values.N.conv_state} / {@code present.N.conv_state},
 *       float (B, conv channels, K - 1), the convolution's last K - 1 inputs, and
 *       {@code past_key_values.N.recurrent_state} / {@code present.N.recurrent_state}, float (B, H, Dk, Dv), the
 *       recurrence's state (Mamba-2: Dk the state size, Dv the head dim, the transpose of transformers' cache);
 *       a Falcon-H1 layer N has both these and its attention's {@code past_key_values.N.key} and {@code .value}.</li>
 * </ul>
 * Their sizes are fixed (the batch aside), so that GenAI can allocate them; the first call feeds zeros. The time
 * recurrence is a Scan over the new tokens: a prompt of S tokens runs S steps, which is exact but not fast (the
 * graph is for export, not for long prompts).
 *
 * <p>As core and transformers do, a pass of several tokens zeroes the mixers' inputs at padded positions, so a
 * left-padded prompt leaves the state at zero until its first real token.
 */
final class RecurrentGraph {
    /** The model types whose recurrent layers this graph computes (with their attention in {@link DecoderGraph}). */
    static final Set<String> MODEL_TYPES = Set.of("lfm2", "lfm2_moe", "granitemoehybrid", "qwen3_5_text",
            "qwen3_5_moe_text", "qwen3_next", BlockPattern.MODEL_TYPE, ParallelHybridConfig.MODEL_TYPE);

    /** transformers' epsilon inside the L2 norm of the gated DeltaNet's queries and keys. */
    private static final float L2_EPS = 1e-6f;
    private static final long END = Long.MAX_VALUE;

    private final GraphBuilder g;
    private final TransformerGraph t;
    private final StateDictWeights w;
    private final DecoderConfig c;
    /** (B, S, 1) float: 0 at the new tokens that are padding when S > 1, else 1; made on first use. */
    private String keep;

    RecurrentGraph(GraphBuilder g, TransformerGraph t, StateDictWeights w, DecoderConfig c) {
        this.g = g;
        this.t = t;
        this.w = w;
        this.c = c;
    }

    /** Whether this graph computes every recurrent layer of a model of config {@code c}. */
    static boolean covers(DecoderConfig c) {
        return MODEL_TYPES.contains(c.modelType());
    }

    /**
     * LFM2's {@code conv} of layer {@code layer}, module prefix {@code p}: in_proj gives B, C and x; C times the
     * causal convolution (no activation) of B x; out_proj. x (B, S, C) -> (B, S, C).
     */
    String shortConv(int layer, String p, String x) throws IOException {
        int hidden = c.hiddenSize();
        ShortConvConfig conv = c.shortConv();
        List<String> bcx = g.ops(3, "Split", List.of(linear(p + "in_proj", masked(x)), g.ints(hidden, hidden, hidden)),
                intAttr("axis", 2));
        String gated = g.op("Mul", List.of(bcx.get(0), bcx.get(2)));
        String mixed = causalConv(gated, p + "conv.", hidden, conv.kernel(), conv.kernel(), false,
                "past_conv." + layer, "present_conv." + layer);
        return linear(p + "out_proj", g.op("Mul", List.of(bcx.get(1), mixed)));
    }

    /**
     * The Mamba-2 mixer of layer {@code layer}, module prefix {@code p}, as core's {@code Mamba2Mixer}: in_proj gives
     * the gate z, the convolution's channels (x, each group's B and C) and a time step per head; the convolution with
     * SiLU; dt = softplus(dt + dt_bias) (at least Nemotron-H's floor), the state decaying by exp(-exp(A_log) dt) and
     * taking dt B x^T per token, read by C, plus D x; the gate and norm; out_proj. x (B, S, C) -> (B, S, C).
     */
    String mamba(int layer, String p, String x) throws IOException {
        MambaConfig m = c.mamba();
        int heads = m.numHeads();
        int inner = m.innerDim();
        int groupWidth = m.numGroups() * m.stateSize();
        String input = m.inputMultiplier() == 1f ? masked(x) : g.op("Mul", List.of(masked(x), g.scalar(m.inputMultiplier())));
        String projected = linear(p + "in_proj", input);
        if (scalesProjection(m)) { // Falcon-H1's muP vector, one factor per output of in_proj
            projected = g.op("Mul", List.of(projected, g.floats(p + "projection_factors", m.projectionFactors())));
        }
        List<String> parts = g.ops(3, "Split", List.of(projected, g.ints(inner, m.convDim(), heads)), intAttr("axis", 2));
        String mixed = causalConv(parts.get(1), p + "conv1d.", m.convDim(), m.convKernel(), m.convKernel() - 1, true,
                "past_key_values." + layer + ".conv_state", "present." + layer + ".conv_state");
        mixed = masked(mixed); // transformers zeroes the padded tokens again after the convolution
        List<String> xbc = g.ops(3, "Split", List.of(mixed, g.ints(inner, groupWidth, groupWidth)), intAttr("axis", 2));
        String xs = g.op("Reshape", List.of(xbc.get(0), g.ints(0, 0, heads, m.headDim())));          // (B, S, H, P)
        String keys = perHead(xbc.get(1), m.numGroups(), heads, m.stateSize());                      // (B, S, H, N)
        String queries = perHead(xbc.get(2), m.numGroups(), heads, m.stateSize());
        String dt = g.op("Softplus", List.of(g.op("Add", List.of(parts.get(2), w.asStored(p + "dt_bias")))));
        if (m.timeStepFloor() > 0) {
            dt = g.op("Max", List.of(dt, g.scalar(m.timeStepFloor())));
        }
        String logDecay = g.op("Mul", List.of(dt, negativeExp(w.asStored(p + "A_log"))));              // (B, S, H)
        String o = gatedRule(StateUpdate.ADDITIVE, layer, queries, keys, xs, logDecay, dt, heads, m.stateSize(),
                m.headDim());
        String d = g.op("Reshape", List.of(w.asStored(p + "D"), g.ints(heads, 1)));
        String y = g.op("Reshape", List.of(g.op("Add", List.of(o, g.op("Mul", List.of(xs, d)))), g.ints(0, 0, inner)));
        String gate = t.activation(Activations.Kind.SILU, parts.get(0));
        String gated = switch (m.gatedNorm()) {
            case NONE -> g.op("Mul", List.of(y, gate));
            case GATE_THEN_NORM, GATE_THEN_GROUP_NORM -> groupedNorm(g.op("Mul", List.of(y, gate)), p + "norm.weight",
                    m.gatedNorm() == MambaConfig.GatedNorm.GATE_THEN_NORM ? 1 : m.numGroups(), inner);
            case GROUP_NORM_THEN_GATE -> g.op("Mul", List.of(groupedNorm(y, p + "norm.weight", m.numGroups(), inner), gate));
        };
        return linear(p + "out_proj", gated);
    }

    /**
     * The gated DeltaNet of layer {@code layer}, module prefix {@code p}, as core's {@code GatedDeltaNet}: queries, keys
     * and values through the convolution with SiLU; queries and keys L2-normalised (queries also scaled by
     * 1 / sqrt(Dk)) and repeated from their key heads to the value heads; the delta rule with log decay
     * -exp(A_log) softplus(a + dt_bias) and strength sigmoid(b); each head's output RMS-normalised times silu(z);
     * out_proj. x (B, S, C) -> (B, S, C).
     */
    String gatedDeltaNet(int layer, String p, String x) throws IOException {
        LinearAttentionConfig la = c.linearAttention();
        int heads = la.numValueHeads();
        int keyHeads = la.numKeyHeads();
        int dk = la.keyHeadDim();
        int dv = la.valueHeadDim();
        String in = masked(x);
        List<String> qkvzba = la.fusedProjections() ? fusedInputs(p, in, la)
                : List.of(linear(p + "in_proj_qkv", in), linear(p + "in_proj_z", in), linear(p + "in_proj_b", in),
                        linear(p + "in_proj_a", in));
        String mixed = causalConv(qkvzba.get(0), p + "conv1d.", la.convDim(), la.convKernel(), la.convKernel() - 1,
                true, "past_key_values." + layer + ".conv_state", "present." + layer + ".conv_state");
        List<String> qkv = g.ops(3, "Split", List.of(mixed, g.ints(la.keyDim(), la.keyDim(), la.valueDim())),
                intAttr("axis", 2));
        String q = g.op("Mul", List.of(l2Normalised(perHead(qkv.get(0), keyHeads, heads, dk)),
                g.scalar((float) (1 / Math.sqrt(dk)))));                                               // (B, S, H, Dk)
        String k = l2Normalised(perHead(qkv.get(1), keyHeads, heads, dk));
        String v = g.op("Reshape", List.of(qkv.get(2), g.ints(0, 0, heads, dv)));                      // (B, S, H, Dv)
        String beta = g.op("Sigmoid", List.of(qkvzba.get(2)));                                        // (B, S, H)
        String step = g.op("Softplus", List.of(g.op("Add", List.of(qkvzba.get(3), w.asStored(p + "dt_bias")))));
        String logDecay = g.op("Mul", List.of(step, negativeExp(w.asStored(p + "A_log"))));
        String o = gatedRule(StateUpdate.DELTA, layer, q, k, v, logDecay, beta, heads, dk, dv);
        String z = g.op("Reshape", List.of(qkvzba.get(1), g.ints(0, 0, heads, dv)));
        String gated = g.op("Mul", List.of(t.rmsNorm(o, w.asStored(p + "norm.weight"), c.normEps(), false),
                t.activation(Activations.Kind.SILU, z)));
        return linear(p + "out_proj", g.op("Reshape", List.of(gated, g.ints(0, 0, la.valueDim()))));
    }

    /**
     * Qwen3-Next's two projections, their rows grouped per key head ({@code in_proj_qkvz}: a key head's query, key, then
     * its value heads' values and gates; {@code in_proj_ba}: its value heads' strengths, then their time steps),
     * gathered into Qwen3.5's order: {qkv (B, S, 2 Dk + Dv), z (B, S, Dv), b (B, S, H), a (B, S, H)}.
     */
    private List<String> fusedInputs(String p, String in, LinearAttentionConfig la) throws IOException {
        int keyHeads = la.numKeyHeads();
        int dk = la.keyHeadDim();
        int group = la.numValueHeads() / keyHeads * la.valueHeadDim();
        String qkvz = g.op("Reshape", List.of(linear(p + "in_proj_qkvz", in), g.ints(0, 0, keyHeads, 2L * dk + 2L * group)));
        List<String> parts = g.ops(4, "Split", List.of(qkvz, g.ints(dk, dk, group, group)), intAttr("axis", 3));
        List<String> flat = parts.stream().map(part -> g.op("Reshape", List.of(part, g.ints(0, 0, -1)))).toList();
        String qkv = g.op("Concat", List.of(flat.get(0), flat.get(1), flat.get(2)), intAttr("axis", 2));
        int perKeyHead = la.numValueHeads() / keyHeads;
        String ba = g.op("Reshape", List.of(linear(p + "in_proj_ba", in), g.ints(0, 0, keyHeads, 2L * perKeyHead)));
        List<String> bAndA = g.ops(2, "Split", List.of(ba, g.ints(perKeyHead, perKeyHead)), intAttr("axis", 3));
        return List.of(qkv, flat.get(3), g.op("Reshape", List.of(bAndA.get(0), g.ints(0, 0, -1))),
                g.op("Reshape", List.of(bAndA.get(1), g.ints(0, 0, -1))));
    }

    /** x / sqrt(sum(x^2) + 1e-6) over the last axis, as core's gated DeltaNet. */
    private String l2Normalised(String x) {
        String squares = g.op("ReduceSum", List.of(g.op("Mul", List.of(x, x)), g.ints(-1)), intAttr("keepdims", 1));
        return g.op("Div", List.of(x, g.op("Sqrt", List.of(g.op("Add", List.of(squares, g.scalar(L2_EPS)))))));
    }

    /** Whether some factor on in_proj's parts is not 1 (Falcon-H1's ssm_multipliers). */
    private static boolean scalesProjection(MambaConfig m) {
        for (float factor : m.projectionMultipliers()) {
            if (factor != 1f) {
                return true;
            }
        }
        return false;
    }

    /** -exp(a): the log decay per unit of time of each head, from its stored A_log. */
    private String negativeExp(String aLog) {
        return g.op("Neg", List.of(g.op("Exp", List.of(aLog))));
    }

    /**
     * (B, S, G * D) -> (B, S, H, D): each of the G groups repeated for the H / G consecutive heads it serves, as core's
     * {@code RecurrentLayers.perHead}.
     */
    private String perHead(String x, int groups, int heads, int d) {
        String grouped = g.op("Reshape", List.of(x, g.ints(0, 0, groups, 1, d)));
        if (groups == heads) {
            return g.op("Reshape", List.of(grouped, g.ints(0, 0, heads, d)));
        }
        String repeated = g.op("Expand", List.of(grouped, g.ints(1, 1, 1, heads / groups, 1)));
        return g.op("Reshape", List.of(repeated, g.ints(0, 0, heads, d)));
    }

    /**
     * core's {@code GroupedRmsNorm}: x (B, S, W) cut into {@code groups} parts, each divided by its own root mean
     * square, then the whole times the stored weight (W).
     */
    private String groupedNorm(String x, String weight, int groups, int width) throws IOException {
        String stored = w.asStored(weight);
        if (groups == 1) {
            return t.rmsNorm(x, stored, c.normEps(), false);
        }
        String parts = g.op("Reshape", List.of(x, g.ints(0, 0, groups, width / groups)));
        String unit = t.rmsNorm(parts, g.scalar(1f), c.normEps(), false);
        return g.op("Mul", List.of(g.op("Reshape", List.of(unit, g.ints(0, 0, width))), stored));
    }

    /**
     * core's {@code LinearAttention.gatedRule} over the new tokens as a Scan, the state of layer {@code layer} read
     * from {@code past_key_values.N.recurrent_state} and written to {@code present.N.recurrent_state}, (B, H, Dk, Dv):
     * per token S = exp(g) S, then the write ({@code DELTA}: S += k (beta (v - S^T k))^T; {@code ADDITIVE}:
     * S += beta k v^T), then o = S^T q. q and k (B, S, H, Dk), v (B, S, H, Dv), g and beta (B, S, H) -> o (B, S, H, Dv).
     */
    private String gatedRule(StateUpdate update, int layer, String q, String k, String v, String logDecay, String beta,
                             int heads, int keyDim, int valueDim) throws IOException {
        String past = "past_key_values." + layer + ".recurrent_state";
        String present = "present." + layer + ".recurrent_state";
        g.input(past, FLOAT, TransformerGraph.BATCH, heads, keyDim, valueDim);
        GraphProto body = g.subgraph("recurrence", () -> {
            String state = g.name("state");
            String qt = g.name("q");
            String kt = g.name("k");
            String vt = g.name("v");
            String gt = g.name("g");
            String bt = g.name("beta");
            g.input(state, FLOAT, TransformerGraph.BATCH, heads, keyDim, valueDim);
            g.input(qt, FLOAT, TransformerGraph.BATCH, heads, keyDim);
            g.input(kt, FLOAT, TransformerGraph.BATCH, heads, keyDim);
            g.input(vt, FLOAT, TransformerGraph.BATCH, heads, valueDim);
            g.input(gt, FLOAT, TransformerGraph.BATCH, heads);
            g.input(bt, FLOAT, TransformerGraph.BATCH, heads);
            String decayed = g.op("Mul", List.of(state, g.op("Unsqueeze", List.of(g.op("Exp", List.of(gt)),
                    g.ints(2, 3)))));                                                                   // (B, H, Dk, Dv)
            String strength = g.op("Unsqueeze", List.of(bt, g.ints(2)));                                // (B, H, 1)
            String written = switch (update) {
                case DELTA -> {
                    String read = g.op("Squeeze", List.of(g.op("MatMul", List.of(g.op("Unsqueeze",
                            List.of(kt, g.ints(2))), decayed)), g.ints(2)));                            // (B, H, Dv)
                    yield g.op("Mul", List.of(g.op("Sub", List.of(vt, read)), strength));
                }
                case ADDITIVE -> g.op("Mul", List.of(vt, strength));
            };
            String next = g.op("Add", List.of(decayed, g.op("Mul", List.of(g.op("Unsqueeze", List.of(kt, g.ints(3))),
                    g.op("Unsqueeze", List.of(written, g.ints(2)))))));                                 // + k w^T
            String out = g.op("Squeeze", List.of(g.op("MatMul", List.of(g.op("Unsqueeze", List.of(qt, g.ints(2))),
                    next)), g.ints(2)));                                                                // (B, H, Dv)
            g.outputOfAnyShape(next, FLOAT);
            g.outputOfAnyShape(out, FLOAT);
        });
        List<String> scanned = g.ops(2, "Scan", List.of(past, q, k, v, logDecay, beta), graphAttr("body", body),
                intAttr("num_scan_inputs", 5), intsAttr("scan_input_axes", 1, 1, 1, 1, 1),
                intsAttr("scan_output_axes", 1));
        g.opInto(present, "Identity", List.of(scanned.get(0)));
        g.output(present, FLOAT, TransformerGraph.BATCH, heads, keyDim, valueDim);
        return scanned.get(1);
    }

    /**
     * {@code x} times {@link #keep}: the padded new tokens of a pass of several tokens zeroed, as core's
     * {@code RecurrentLayers.paddingKeep} (a one-token pass is left as it is).
     */
    private String masked(String x) {
        if (keep == null) {
            String s = g.op("Shape", List.of(TransformerGraph.INPUT_IDS), intAttr("start", 1), intAttr("end", 2));
            String newTokens = g.op("Slice", List.of(TransformerGraph.ATTENTION_MASK, g.op("Neg", List.of(s)),
                    g.ints(END), g.ints(1)));                                                          // (B, S)
            String mask = g.op("Unsqueeze", List.of(g.op("Cast", List.of(newTokens), intAttr("to", FLOAT)), g.ints(2)));
            String several = g.op("Greater", List.of(g.op("Squeeze", List.of(s, g.ints(0))), g.scalar(1L)));
            keep = g.op("Where", List.of(several, mask, g.scalar(1f)));                              // (B, S, 1)
        }
        return g.op("Mul", List.of(x, keep));
    }

    /**
     * A depthwise causal convolution of width {@code kernel} over x (B, S, C) -> (B, S, C), C = {@code channels}, with bias where the module
     * {@code p} has one and SiLU where asked, reading the state input {@code pastName} (B, C, W): its last K - 1
     * columns come before the first new token. {@code presentName} gets the last W columns of the state followed by
     * the new inputs.
     */
    private String causalConv(String x, String p, int channels, int kernel, int stateWidth, boolean silu,
                              String pastName, String presentName) throws IOException {
        String weight = w.asStored(p + "weight");                                                    // (C, 1, K)
        String bias = w.optional(p + "bias");
        g.input(pastName, FLOAT, TransformerGraph.BATCH, channels, stateWidth);
        String all = g.op("Concat", List.of(pastName, g.op("Transpose", List.of(x), intsAttr("perm", 0, 2, 1))),
                intAttr("axis", 2));                                                                  // (B, C, W + S)
        String window = stateWidth == kernel - 1 ? all
                : g.op("Slice", List.of(all, g.ints(stateWidth - (kernel - 1)), g.ints(END), g.ints(2)));
        String y = g.op("Conv", bias == null ? List.of(window, weight) : List.of(window, weight, bias),
                intAttr("group", channels), intsAttr("kernel_shape", kernel));                       // (B, C, S)
        String length = g.op("Shape", List.of(all), intAttr("start", 2), intAttr("end", 3));
        g.opInto(presentName, "Slice", List.of(all, g.op("Sub", List.of(length, g.ints(stateWidth))), g.ints(END),
                g.ints(2)));
        g.output(presentName, FLOAT, TransformerGraph.BATCH, channels, stateWidth);
        String activated = silu ? t.activation(Activations.Kind.SILU, y) : y;
        return g.op("Transpose", List.of(activated), intsAttr("perm", 0, 2, 1));
    }

    private String linear(String name, String x) throws IOException {
        return t.linear(x, w.linear(name + ".weight"), w.optional(name + ".bias"));
    }
}
