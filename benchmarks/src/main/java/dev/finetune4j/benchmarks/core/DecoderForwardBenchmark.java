package dev.finetune4j.benchmarks.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Decoder forward pass (no gradients) on BENCHMARKS.md's CPU-S configuration: LLaMA-style, vocab 4096, hidden
 * 256, 4 layers, 8 heads, 4 kv heads, intermediate 704, batch 8 x 128 tokens. Tokens/s = 1024 / (s/op).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class DecoderForwardBenchmark {
    /** The state JMH creates; {@link #setUp()} builds the model. */
    public DecoderForwardBenchmark() {
    }

    static final String CPU_S = "{\"model_type\":\"llama\",\"vocab_size\":4096,\"hidden_size\":256,\"intermediate_size\":704,"
            + "\"num_hidden_layers\":4,\"num_attention_heads\":8,\"num_key_value_heads\":4,\"max_position_embeddings\":512,"
            + "\"rope_theta\":10000.0}";

    private LanguageModel model;
    private long[][] ids;

    /**
     * Builds the CPU-S model with N(0, 0.02) weights and a batch of random token ids.
     *
     * @throws Exception when the config cannot be parsed
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        model = AutoModel.newCausalLM(new ObjectMapper().readTree(CPU_S), TensorScope.detached());
        StateDicts.initNormal(model, 0.02, new SplittableRandom(42));
        SplittableRandom r = new SplittableRandom(7);
        ids = new long[8][128];
        for (long[] row : ids) {
            for (int i = 0; i < row.length; i++) {
                row[i] = r.nextInt(4096);
            }
        }
    }

    /** Frees the model. */
    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    /**
     * One forward pass over the batch.
     *
     * @return the first logit, so that the pass cannot be optimised away
     */
    @Benchmark
    public float forwardCpuS() {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            return model.forward(ModelInput.of(ids, null)).getFlat(0);
        }
    }
}
