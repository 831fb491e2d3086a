package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Times the backend's causal attention kernels alone, forward and forward + backward, with f32 and with bf16 q, k
 * and v (on CUDA: the f32 kernels and the tensor-core ones), alternating the two in every round so that both see
 * the same machine. Defaults are one layer of {@code llama-1.1b-shape} at B8 x S512 (32 query heads, 4 kv heads,
 * head dimension 64). An optional last argument gives a sliding window (Mistral, Gemma 2 and 3, Phi-3; 0 for none),
 * whose kernels skip the tiles outside it: the window-1024 layers of Gemma 3 4B at S 4096 are {@code 1 8 4 4096 256
 * 5 1024} (head dimension 256, the CUDA kernels' largest), to set beside the same line with window 0. Prints one JSON
 * line per input dtype: median milliseconds per call over the rounds and the TFLOP/s they mean, counting 4 D
 * multiply-adds for each (query, key) pair the mask lets meet in a forward (the causal half of B H T S pairs, or
 * fewer in a window) and 2.5 times that for a backward (as FlashAttention's papers count).
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp benchmarks.jar \
 *     dev.finetune4j.benchmarks.gpu.AttentionKernelBenchmark cuda:0 [batch heads kvHeads seq headDim rounds [window]]
 * }</pre>
 */
public final class AttentionKernelBenchmark {
    /** Calls per timed round: enough to hide one launch's latency and the synchronisation at its end. */
    private static final int CALLS = 10;

    private AttentionKernelBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args the device ({@code cuda:0}, {@code cpu}), then optionally batch, heads, kv heads, sequence length,
     *             head dimension and rounds, and after them optionally a sliding window
     */
    public static void main(String[] args) {
        if (args.length != 1 && args.length != 7 && args.length != 8) {
            throw new IllegalArgumentException("usage: AttentionKernelBenchmark DEVICE [batch heads kvHeads seq headDim"
                    + " rounds [window]], got " + args.length + " arguments");
        }
        int[] n = args.length > 1 ? Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[]{8, 32, 4, 512, 64, 5};
        Device device = Device.parse(args[0]);
        int batch = n[0], heads = n[1], kvHeads = n[2], seq = n[3], headDim = n[4], rounds = n[5];
        int window = n.length > 6 ? n[6] : 0;
        AttentionMask mask = AttentionMask.causalOnly().withWindow(window);
        double forwardFlop = 4.0 * batch * heads * headDim * visiblePairs(seq, window);
        DType[] types = {DType.F32, DType.BF16};
        double[][] forwardMs = new double[types.length][rounds];
        double[][] stepMs = new double[types.length][rounds];
        try (TensorScope scope = TensorScope.open()) {
            Tensor[][] inputs = new Tensor[types.length][];
            for (int t = 0; t < types.length; t++) {
                inputs[t] = new Tensor[]{random(scope, device, types[t], 1, batch, heads, seq, headDim),
                        random(scope, device, types[t], 2, batch, kvHeads, seq, headDim),
                        random(scope, device, types[t], 3, batch, kvHeads, seq, headDim)};
            }
            Tensor dOut = random(scope, device, DType.F32, 4, batch, heads, seq, headDim);
            Tensor out = Tensor.zeros(scope, device, DType.F32, Shape.of(batch, heads, seq, headDim));
            Tensor lse = Tensor.zeros(scope, device, DType.F32, Shape.of(batch, heads, seq));
            Tensor dq = Tensor.zeros(scope, device, DType.F32, Shape.of(batch, heads, seq, headDim));
            Tensor dk = Tensor.zeros(scope, device, DType.F32, Shape.of(batch, kvHeads, seq, headDim));
            Tensor dv = Tensor.zeros(scope, device, DType.F32, Shape.of(batch, kvHeads, seq, headDim));
            Backend backend = out.backend();
            AttentionKernels kernels = backend.attention();
            float scale = (float) (1 / Math.sqrt(headDim));
            for (int round = -1; round < rounds; round++) {  // round -1 compiles and warms up, untimed
                for (int t = 0; t < types.length; t++) {
                    Tensor q = inputs[t][0], k = inputs[t][1], v = inputs[t][2];
                    double forward = time(backend, () -> kernels.attention(q, k, v, mask, scale, 0f, out, lse));
                    double step = time(backend, () -> {
                        kernels.attention(q, k, v, mask, scale, 0f, out, lse);
                        kernels.attentionBackward(q, k, v, mask, scale, 0f, out, lse, dOut, dq, dk, dv);
                    });
                    if (round >= 0) {
                        forwardMs[t][round] = forward;
                        stepMs[t][round] = step;
                    }
                }
            }
        }
        ObjectMapper json = new ObjectMapper();
        for (int t = 0; t < types.length; t++) {
            double forward = Median.of(forwardMs[t]);
            double step = Median.of(stepMs[t]);
            ObjectNode line = json.createObjectNode().put("device", device.toString())
                    .put("inputs", types[t].name().toLowerCase()).put("batch", batch).put("heads", heads)
                    .put("kv_heads", kvHeads).put("seq", seq).put("head_dim", headDim).put("window", window)
                    .put("rounds", rounds)
                    .put("forward_ms", forward).put("forward_backward_ms", step)
                    .put("forward_tflops", forwardFlop / forward / 1e9)
                    .put("forward_backward_tflops", 3.5 * forwardFlop / step / 1e9);
            System.out.println(line);
        }
    }

    /**
     * The (query, key) pairs of one head that a causal mask with a sliding window lets meet, with the causal half
     * of seq^2 counted as seq^2 / 2: a query sees min(its position + 1, window) keys.
     */
    private static double visiblePairs(int seq, int window) {
        if (window == 0 || window >= seq) {
            return seq * (double) seq / 2;
        }
        return seq * (double) window - window * (double) window / 2;
    }

    /** Milliseconds per call of {@code call}, from CALLS calls queued back to back and one synchronisation. */
    private static double time(Backend backend, Runnable call) {
        backend.synchronize();
        long start = System.nanoTime();
        for (int i = 0; i < CALLS; i++) {
            call.run();
        }
        backend.synchronize();
        return (System.nanoTime() - start) / 1e6 / CALLS;
    }

    /** Standard normal values of {@code type}, made on the host and copied to {@code device}. */
    private static Tensor random(TensorScope scope, Device device, DType type, long seed, int... dims) {
        Shape shape = Shape.of(dims);
        int n = Math.toIntExact(shape.numel());
        SplittableRandom random = new SplittableRandom(seed);
        float[] f32 = new float[n];
        for (int i = 0; i < n; i++) {
            f32[i] = (float) gaussian(random);
        }
        Tensor t = Tensor.zeros(scope, device, type, shape);
        if (type == DType.F32) {
            t.backend().copyFromHost(MemorySegment.ofArray(f32), t);
        } else {
            short[] bf16 = new short[n];
            for (int i = 0; i < n; i++) {
                bf16[i] = DTypeConversions.floatToBf16(f32[i]);
            }
            t.backend().copyFromHost(MemorySegment.ofArray(bf16), t);
        }
        return t;
    }

    /** A standard normal value (Box-Muller). */
    private static double gaussian(SplittableRandom random) {
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
