package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.LinearAttention;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.models.decoder.MambaConfig.GatedNorm;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.GroupedRmsNorm;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Mamba-2 mixer ({@code mamba}; Dao and Gu 2024) of Granite 4.0 H, Falcon-H1 and Nemotron-H, as transformers'
 * {@code GraniteMoeHybridMambaLayer}, {@code FalconH1Mixer} and {@code NemotronHMamba2Mixer} compute it:
 * {@code in_proj} gives the gate z, the convolution's channels (x, then each group's B and C) and one time step per
 * head; a short causal convolution with a bias and SiLU over x, B and C; per head h, with
 * {@code dt = softplus(dt + dt_bias)} (Nemotron-H's at least {@code time_step_min}) and {@code A = -exp(A_log)}, the
 * state S (stateSize, headDim) evolves as {@code S = exp(dt A) S + dt B x^T} and reads {@code y = S^T C + D x} (B and C
 * shared by the heads of a group); then y meets the gate as {@link MambaConfig.GatedNorm} says (Granite: {@code norm}
 * of {@code y silu(z)} over the whole inner width), and {@code out_proj}. Falcon-H1 multiplies the input by
 * {@code ssm_in_multiplier} and each part of {@code in_proj}'s output by its {@code ssm_multipliers} entry first. The
 * recurrence is {@link StateUpdate#ADDITIVE}'s, with B as the keys, C as the queries, x as the values and dt as the
 * write strength. A generation's {@link KvCache} carries the convolution's last inputs and the state.
 */
final class Mamba2Mixer extends Module implements Block {
    private final MambaConfig config;
    private final int layerIndex;
    /**
     * Falcon-H1's muP factors of in_proj's outputs, (1, 1, projectionDim), made once per device in the scope that owns
     * the loaded weights (again if that scope has closed since), not per forward.
     */
    private final Map<Device, Tensor> projectionFactors = new ConcurrentHashMap<>();

    /**
     * The layer's weights, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the model's configuration
     * @param layerIndex the layer's index, which selects its state in a generation's cache
     */
    Mamba2Mixer(TensorScope scope, DecoderConfig c, int layerIndex) {
        this.config = c.mamba();
        this.layerIndex = layerIndex;
        int hidden = c.hiddenSize();
        int heads = config.numHeads();
        registerChild("in_proj", new Linear(scope, hidden, config.projectionDim(), config.projBias()));
        registerChild("conv1d", new CausalConv1d(scope, config.convDim(), config.convKernel(), config.convBias(), true));
        registerParameter("A_log", Tensor.zeros(scope, DType.F32, Shape.of(heads)));
        registerParameter("D", Tensor.zeros(scope, DType.F32, Shape.of(heads)));
        registerParameter("dt_bias", Tensor.zeros(scope, DType.F32, Shape.of(heads)));
        if (config.gatedNorm() != GatedNorm.NONE) {
            registerChild("norm", new GroupedRmsNorm(scope, config.innerDim(),
                    config.gatedNorm().normGroups(config.numGroups()), c.normEps()));
        }
        registerChild("out_proj", new Linear(scope, config.innerDim(), hidden, config.outProjBias()));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        int b = x.dim(0);
        int t = x.dim(1);
        int heads = config.numHeads();
        int inner = config.innerDim();
        int groupWidth = config.numGroups() * config.stateSize();
        Tensor keep = ctx.paddingKeep();
        Tensor input = keep == null ? x : Elementwise.mul(x, keep);
        if (config.inputMultiplier() != 1f) {
            input = Elementwise.scale(input, config.inputMultiplier());
        }
        Tensor projected = layer("in_proj").forward(input);
        if (config.scalesProjection()) { // Falcon-H1's muP vector, one factor per output of in_proj
            projected = Elementwise.mul(projected, projectionFactors.compute(x.device(), (device, kept) ->
                    kept != null && kept.scope().isOpen() ? kept : Tensor.of(device, parameter("D").scope(),
                            config.projectionFactors(), Shape.of(1, 1, config.projectionDim()))));
        }
        Tensor z = projected.slice(2, 0, inner);
        Tensor xbc = projected.slice(2, inner, inner + config.convDim());
        Tensor dtRaw = projected.slice(2, inner + config.convDim(), config.projectionDim());
        KvCache cache = ctx.cache();
        CausalConv1d conv = (CausalConv1d) child("conv1d");
        Tensor[] state = RecurrentLayers.state(cache, layerIndex, x, conv, heads, config.stateSize(), config.headDim());
        Tensor mixed = conv.forward(xbc, state == null ? null : state[0], ctx.segmentOffsets());
        if (keep != null) {
            mixed = Elementwise.mul(mixed, keep); // transformers zeroes the padded tokens again after the convolution
        }
        Tensor xs = mixed.slice(2, 0, inner).reshape(b, t, heads, config.headDim());
        Tensor keys = RecurrentLayers.perHead(mixed.slice(2, inner, inner + groupWidth)
                .reshape(b, t, config.numGroups(), config.stateSize()), heads);
        Tensor queries = RecurrentLayers.perHead(mixed.slice(2, inner + groupWidth, config.convDim())
                .reshape(b, t, config.numGroups(), config.stateSize()), heads);
        Tensor dt;
        Tensor g;
        // the time steps and decays in float32 under any precision, as transformers computes them
        try (var f32 = Precision.F32.use()) {
            dt = Activations.apply(Activations.Kind.SOFTPLUS, Elementwise.add(dtRaw, parameter("dt_bias")));
            float floor = config.timeStepFloor();
            if (floor > 0) { // Nemotron-H: max(dt, floor) as floor + relu(dt - floor), no gradient below the floor
                dt = Elementwise.addScalar(Activations.apply(Activations.Kind.RELU, Elementwise.addScalar(dt, -floor)),
                        floor);
            }
            g = Elementwise.mul(dt, Elementwise.scale(Elementwise.exp(parameter("A_log")), -1f));
        }
        Tensor o = LinearAttention.gatedRule(StateUpdate.ADDITIVE, queries, keys, xs, g, dt,
                state == null ? null : state[1], ctx.segmentOffsets());
        if (cache != null) {
            cache.advanceRecurrent(layerIndex, state, t);
        }
        Tensor y = Elementwise.add(o, Elementwise.mul(xs, parameter("D").reshape(1, 1, heads, 1)));
        return layer("out_proj").forward(gated(y.reshape(b, t, inner), z));
    }

    /** y and the gate z, (B, T, inner) each, as {@link MambaConfig#gatedNorm} combines them: in float32, as transformers. */
    private Tensor gated(Tensor y, Tensor z) {
        Tensor y32;
        Tensor gate;
        try (var f32 = Precision.F32.use()) {
            y32 = y.to(DType.F32);
            gate = Activations.apply(Activations.Kind.SILU, z.to(DType.F32));
        }
        return switch (config.gatedNorm()) {
            case NONE -> f32Product(y32, gate);
            case GATE_THEN_NORM, GATE_THEN_GROUP_NORM -> layer("norm").forward(f32Product(y32, gate));
            case GROUP_NORM_THEN_GATE -> f32Product(layer("norm").forward(y32), gate);
        };
    }

    private static Tensor f32Product(Tensor a, Tensor b) {
        try (var f32 = Precision.F32.use()) {
            return Elementwise.mul(a, b);
        }
    }
}
