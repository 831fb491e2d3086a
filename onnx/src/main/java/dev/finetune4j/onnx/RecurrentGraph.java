package dev.finetune4j.onnx;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.ShortConvConfig;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;

/**
 * The token mixers that keep a state instead of keys and values, node for node what core's {@code ShortConv} (LFM2),
 * {@code Mamba2Mixer} (Granite 4.0 H) and {@code GatedDeltaNet} (Qwen3.5, Qwen3-Next) compute, with their state as
 * graph inputs and outputs beside the attention layers' pasts, named as ONNX Runtime GenAI's model builder names them:
 * <ul>
 *   <li>LFM2's convolution layer N: {@code past_conv.N} / {@code present_conv.N}, float (B, C, L_cache), the layer's
 *       last L_cache convolution inputs, channels first (transformers' and GenAI's layout; the oldest is never
 *       read);</li>
 *   <li>a Mamba-2 or gated DeltaNet layer N: {@code past_key_values.N.conv_state} / {@code present.N.conv_state},
 *       float (B, conv channels, K - 1), the convolution's last K - 1 inputs, and
 *       {@code past_key_values.N.recurrent_state} / {@code present.N.recurrent_state}, float (B, H, Dk, Dv), the
 *       recurrence's state (Mamba-2: Dk the state size, Dv the head dim, the transpose of transformers' cache).</li>
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
    static final Set<String> MODEL_TYPES = Set.of("lfm2", "lfm2_moe");

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
        return t.linear(x, w.transposed(name + ".weight"), w.optional(name + ".bias"));
    }
}
