package dev.finetune4j.benchmarks.core;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The gated delta rule of one Qwen3.5 linear-attention layer through the CPU backend's {@link RecurrentKernels}, at
 * Qwen3.5-0.8B's head shape (16 value heads of 128 x 128 states) over 2 x 256 tokens: the forward keeping a state
 * every 64 tokens, and the backward that recomputes the states in between. JMH reports milliseconds per call; the
 * forward's arithmetic is about 6 B T H Dk Dv floating-point operations (0.81 GFLOP here), the backward's about four
 * times that. {@code update = ADDITIVE} times Mamba-2's recurrence (Granite 4.0 H) on the same shapes: no delta, so
 * about two thirds of that work.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class GatedDeltaRuleBenchmark {
    private static final int B = 2;
    private static final int T = 256;
    private static final int H = 16;

    /** The state JMH creates; {@link #setUp()} fills the operands. */
    public GatedDeltaRuleBenchmark() {
    }

    /** The state update: the delta rule (Qwen3.5) or the additive one (Mamba-2). */
    @Param({"DELTA", "ADDITIVE"})
    public StateUpdate update;

    /** The width of each head's keys and values: 128 as Qwen3.5-0.8B's, 32 as the CPU-S-Qwen3.5 training shape's. */
    @Param({"128"})
    public int headDim;

    private final Backend backend = Device.cpu().backend();
    private TensorScope scope;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor g;
    private Tensor beta;
    private Tensor state;
    private Tensor o;
    private Tensor kept;
    private Tensor[] grads;

    /** Random unit-scale queries, keys and values; decays of 0.9 and strengths of 0.5. */
    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(42);
        scope = TensorScope.detached();
        q = random(r, 0.1);
        k = random(r, 0.1);
        v = random(r, 1);
        g = Tensor.zeros(scope, DType.F32, Shape.of(B, T, H));
        beta = Tensor.zeros(scope, DType.F32, Shape.of(B, T, H));
        backend.copy().fill(g, (float) Math.log(0.9));
        backend.copy().fill(beta, 0.5f);
        state = Tensor.zeros(scope, DType.F32, Shape.of(B, H, headDim, headDim));
        o = Tensor.zeros(scope, DType.F32, Shape.of(B, T, H, headDim));
        kept = Tensor.zeros(scope, DType.F32, Shape.of(B, H, T / RecurrentKernels.STATE_INTERVAL, headDim, headDim));
        grads = new Tensor[]{Tensor.zeros(scope, DType.F32, q.shape()), Tensor.zeros(scope, DType.F32, q.shape()),
                Tensor.zeros(scope, DType.F32, q.shape()), Tensor.zeros(scope, DType.F32, g.shape()),
                Tensor.zeros(scope, DType.F32, g.shape())};
        forward(); // the kept states the backward starts from
    }

    private Tensor random(SplittableRandom r, double scale) {
        float[] values = new float[B * T * H * headDim];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (r.nextGaussian() * scale);
        }
        return Tensor.of(Device.cpu(), scope, values, Shape.of(B, T, H, headDim));
    }

    /** Frees the operands. */
    @TearDown
    public void tearDown() {
        scope.close();
    }

    /**
     * The forward over every token from a zero state, keeping a state every 64 tokens.
     *
     * @return the outputs, so that the work cannot be optimised away
     */
    @Benchmark
    public Tensor forward() {
        backend.copy().fill(state, 0f);
        backend.recurrent().gatedRule(update, q, k, v, g, beta, null, state, o, kept);
        return o;
    }

    /**
     * The forward over every token from a zero state without kept states, as a forward without gradients runs it.
     *
     * @return the outputs, so that the work cannot be optimised away
     */
    @Benchmark
    public Tensor inference() {
        backend.copy().fill(state, 0f);
        backend.recurrent().gatedRule(update, q, k, v, g, beta, null, state, o, null);
        return o;
    }

    /**
     * The backward from the kept states, the outputs' gradient being the values.
     *
     * @return the queries' gradient, so that the work cannot be optimised away
     */
    @Benchmark
    public Tensor backward() {
        backend.recurrent().gatedRuleBackward(update, q, k, v, g, beta, null, kept, v, grads[0], grads[1],
                grads[2], grads[3], grads[4]);
        return grads[0];
    }
}
