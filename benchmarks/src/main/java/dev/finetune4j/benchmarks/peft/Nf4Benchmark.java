package dev.finetune4j.benchmarks.peft;

import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.peft.qlora.Nf4;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** NF4 quantization and dequantization of one weight matrix (single thread), in milliseconds per matrix. */
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

    private float[] weights;
    private Nf4.Quantized quantized;
    private float[] out;

    /** Draws the weight matrix and quantizes it once for the dequantization benchmark. */
    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        weights = new float[side * side];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) (StateDicts.gaussian(r) * 0.02);
        }
        quantized = Nf4.quantize(weights);
        out = new float[weights.length];
    }

    /**
     * Quantizes the matrix.
     *
     * @return the packed values and block scales
     */
    @Benchmark
    public Nf4.Quantized quantize() {
        return Nf4.quantize(weights);
    }

    /**
     * Dequantizes the matrix.
     *
     * @return the dequantized values
     */
    @Benchmark
    public float[] dequantize() {
        Nf4.dequantizeInto(quantized, out);
        return out;
    }
}
