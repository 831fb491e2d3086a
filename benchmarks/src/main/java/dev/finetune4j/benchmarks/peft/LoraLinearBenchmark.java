package dev.finetune4j.benchmarks.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.lora.LoraLinear;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * One LoRA linear layer, forward + backward (gradients of A and B and of the input, as inside a model), on the
 * CPU: x (tokens, width) through a frozen width x width weight with a rank-r adapter. Compared with the frozen
 * layer alone, forward only, to show what the adapter costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
public class LoraLinearBenchmark {
    /** The state JMH creates; {@link #setUp()} builds the layer. */
    public LoraLinearBenchmark() {
    }

    @Param({"1024"})
    int tokens;
    @Param({"512", "1024"})
    int width;
    @Param({"8", "16"})
    int rank;

    private TensorScope params;
    private LoraLinear lora;
    private Linear frozen;
    private float[] input;

    /** Builds the frozen layer and its adapter with N(0, 0.02) weights, and a random input. */
    @Setup(Level.Trial)
    public void setUp() {
        params = TensorScope.detached();
        SplittableRandom r = new SplittableRandom(1);
        frozen = new Linear(params, width, width, false);
        StateDicts.initNormal(frozen, 0.02, r);
        lora = new LoraLinear(frozen, BaseLinear.of(frozen, "bench"), rank, 2.0, 0.0, false, params, () -> r);
        StateDicts.initNormal(lora, 0.02, r);
        lora.loraA().requiresGrad(true);
        lora.loraB().requiresGrad(true);
        input = new float[tokens * width];
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) StateDicts.gaussian(r);
        }
    }

    /** Frees the tensors. */
    @TearDown(Level.Trial)
    public void tearDown() {
        params.close();
    }

    /**
     * y = x W^T + 2 B A x, then backward of mean(y) into x, A and B.
     *
     * @return one gradient value, so that the work cannot be optimised away
     */
    @Benchmark
    public float loraForwardBackward() {
        try (var step = TensorScope.open()) {
            Tensor x = Tensor.of(input, tokens, width).requiresGrad(true);
            Autograd.backward(Reductions.mean(lora.forward(x)));
            float g = lora.loraA().grad().getFlat(0);
            lora.loraA().setGrad(null);
            lora.loraB().setGrad(null);
            return g;
        }
    }

    /**
     * The frozen layer's forward alone, the floor under the adapter's cost.
     *
     * @return the first output, so that the work cannot be optimised away
     */
    @Benchmark
    public float frozenForward() {
        try (var step = TensorScope.open(); var ng = Autograd.noGrad()) {
            return frozen.forward(Tensor.of(input, tokens, width)).getFlat(0);
        }
    }
}
