package dev.finetune4j.benchmarks.peft;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.nn.StateDicts;
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

/** NF4 quantization and dequantization of one weight matrix through the CPU backend, in milliseconds per matrix. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class Nf4Benchmark {
    /** The state JMH creates; {@link #setUp()} draws the weights. */
    public Nf4Benchmark() {
    }

    /** Matrix side: 2048 x 2048 = 4.19 M parameters. */
    @Param({"2048"})
    int side;

    private TensorScope scope;
    private Tensor weights;
    private Tensor quantized;
    private Tensor out;

    /** Makes a random N(0, 0.02) matrix and its NF4 tensor. */
    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        float[] values = new float[side * side];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (StateDicts.gaussian(r) * 0.02);
        }
        scope = TensorScope.detached();
        weights = Tensor.of(scope, values, side, side);
        quantized = Tensor.zeros(scope, DType.NF4, Shape.of(side, side));
        Device.cpu().backend().quantization().quantizeNf4(weights, quantized);
        out = Tensor.zeros(scope, DType.F32, Shape.of(side, side));
    }

    /** Frees the tensors. */
    @TearDown
    public void tearDown() {
        scope.close();
    }

    /**
     * Quantizes the matrix.
     *
     * @return the NF4 tensor
     */
    @Benchmark
    public Tensor quantize() {
        Device.cpu().backend().quantization().quantizeNf4(weights, quantized);
        return quantized;
    }

    /**
     * Dequantizes the matrix.
     *
     * @return the float32 values
     */
    @Benchmark
    public Tensor dequantize() {
        Device.cpu().backend().quantization().dequantizeNf4(quantized, 0, out);
        return out;
    }
}
