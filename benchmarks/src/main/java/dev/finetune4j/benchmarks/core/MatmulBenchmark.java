package dev.finetune4j.benchmarks.core;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
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
 * Square float32 matrix product {@code C = A B} through the CPU backend's gemm kernel, the configuration of
 * BENCHMARKS.md's PyTorch anchor (operands in native memory, so each call also copies A and B, O(n^2)). JMH reports milliseconds per product; GFLOP/s = 2 n^3 / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class MatmulBenchmark {
    /** The state JMH creates; {@link #setUp()} fills the operands. */
    public MatmulBenchmark() {
    }

    @Param({"256", "512", "1024", "2048"})
    int n;

    private final Backend backend = Device.cpu().backend();
    private TensorScope scope;
    private Tensor a;
    private Tensor b;
    private Tensor c;

    /** Fills the operands with random values. */
    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(42);
        float[] av = new float[n * n];
        float[] bv = new float[n * n];
        for (int i = 0; i < av.length; i++) {
            av[i] = (float) r.nextDouble(-1, 1);
            bv[i] = (float) r.nextDouble(-1, 1);
        }
        scope = TensorScope.detached();
        a = Tensor.of(Device.cpu(), scope, av, Shape.of(n, n));
        b = Tensor.of(Device.cpu(), scope, bv, Shape.of(n, n)).requiresGrad(true); // trained: not a cached frozen weight
        c = Tensor.zeros(scope, DType.F32, Shape.of(n, n));
    }

    /** Frees the operands. */
    @TearDown
    public void tearDown() {
        scope.close();
    }

    /**
     * One product.
     *
     * @return the result, so that the work cannot be optimised away
     */
    @Benchmark
    public Tensor gemmF32() {
        backend.matmul().gemm(a, false, b, false, c, 1f, false);
        return c;
    }
}
