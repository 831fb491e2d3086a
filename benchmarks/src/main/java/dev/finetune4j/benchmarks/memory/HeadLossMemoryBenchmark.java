package dev.finetune4j.benchmarks.memory;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.LinearCrossEntropy;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.SplittableRandom;

/**
 * The training loss of one step's output head on the Qwen2-0.5B vocabulary (151,936 words, hidden size 896) over
 * 2,048 tokens, forward and backward, with random hidden states (trained) and a random frozen bf16 projection (a
 * LoRA run's lm_head): {@code fused} through {@link LinearCrossEntropy}, {@code unfused} through
 * {@code Matmul.linear} then {@link CrossEntropy}. Prints the peak bytes of tensors the CPU backend allocated during
 * the step (the backend's counter, reset after the inputs exist), the process's peak anonymous memory (RssAnon
 * sampled every 2 ms, for the whole run), the loss and the seconds taken. Run each mode in its own JVM:
 *
 * <pre>{@code
 * java -Xmx4g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.memory.HeadLossMemoryBenchmark fused|unfused [tokens] [vocab] [hidden]
 * }</pre>
 */
public final class HeadLossMemoryBenchmark {

    private HeadLossMemoryBenchmark() {
    }

    /**
     * Runs one forward and backward of the head's loss and prints its memory and time.
     *
     * @param args {@code fused} or {@code unfused}, then optionally tokens, vocabulary and hidden size
     * @throws InterruptedException when interrupted while the memory sampler stops
     */
    public static void main(String[] args) throws InterruptedException {
        if (args.length < 1 || !(args[0].equals("fused") || args[0].equals("unfused"))) {
            throw new IllegalArgumentException("usage: HeadLossMemoryBenchmark fused|unfused [tokens] [vocab] [hidden]");
        }
        boolean fused = args[0].equals("fused");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int v = args.length > 2 ? Integer.parseInt(args[2]) : 151_936;
        int c = args.length > 3 ? Integer.parseInt(args[3]) : 896;
        try (PeakRssAnon rss = new PeakRssAnon(); var params = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor weight = Tensor.of(Device.cpu(), params, random(1, (long) v * c), Shape.of(v, c)).to(DType.BF16);
            Tensor hidden = Tensor.of(Device.cpu(), params, random(2, (long) n * c), Shape.of(n, c)).requiresGrad(true);
            int[] labels = new int[n];
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < n; i++) {
                labels[i] = i % 10 == 0 ? CrossEntropy.IGNORE_INDEX : r.nextInt(v);
            }
            Device.cpu().backend().resetPeak();
            long before = Device.cpu().memory().allocatedBytes();
            long start = System.nanoTime();
            Tensor loss = fused ? LinearCrossEntropy.loss(hidden, weight, labels)
                    : CrossEntropy.loss(Matmul.linear(hidden, weight, null), labels);
            Autograd.backward(loss);
            double seconds = (System.nanoTime() - start) / 1e9;
            MemoryStats stats = Device.cpu().memory();
            System.out.printf("%s tokens=%d vocab=%d hidden=%d chunkRows=%d loss=%.6f seconds=%.1f "
                            + "stepTensorPeakMiB=%.1f processPeakRssAnonMiB=%.1f%n",
                    args[0], n, v, c, fused ? LinearCrossEntropy.defaultChunkRows(v) : n, loss.getFlat(0), seconds,
                    (stats.peakBytes() - before) / 1048576.0, rss.bytes() / 1048576.0);
        }
    }

    private static float[] random(long seed, long count) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[Math.toIntExact(count)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) r.nextGaussian() * 0.05f;
        }
        return out;
    }
}
