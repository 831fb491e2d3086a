package dev.finetune4j.benchmarks.memory;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.peft.qlora.QloraInjector;

import java.nio.file.Path;

/**
 * The device memory of loading a QLoRA base, the two ways the CLI has done it: {@code after} loads the model in bf16
 * on the device and then quantizes its linear weights to NF4 ({@code QloraInjector.quantize}, the path of
 * {@code serve}, {@code eval} and {@code train} before 2026-12-06); {@code on-load} quantizes each linear weight as
 * it is read ({@code LoadOptions.quantization(NF4)}, their path since). Prints one JSON line with the device's peak
 * and the bytes held once loaded. On {@code fakecuda:0} (core's test classes on the class path) the allocator counts
 * exactly what it would on a card, without one.
 *
 * <pre>{@code
 * java -cp benchmarks/target/classes:core/target/test-classes:... \
 *     dev.finetune4j.benchmarks.memory.QloraBaseLoadBenchmark /tmp/qwen2-0.5b-shape fakecuda:0 on-load
 * }</pre>
 */
public final class QloraBaseLoadBenchmark {
    private QloraBaseLoadBenchmark() {
    }

    /**
     * Runs the measurement.
     *
     * @param args the model folder, the device, and {@code on-load} or {@code after}
     */
    public static void main(String[] args) {
        if (args.length != 3 || !args[2].equals("on-load") && !args[2].equals("after")) {
            throw new IllegalArgumentException("usage: QloraBaseLoadBenchmark MODEL_DIR DEVICE on-load|after");
        }
        Path dir = Path.of(args[0]);
        Device device = Device.parse(args[1]);
        boolean onLoad = args[2].equals("on-load");
        LoadOptions options = LoadOptions.builder().device(device).dtype(DType.BF16)
                .quantization(onLoad ? Quantization.NF4 : Quantization.NONE).build();
        long start = System.nanoTime();
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, options)) {
            if (!onLoad) {
                QloraInjector.quantize(lm);
            }
            System.out.printf("{\"model\": \"%s\", \"device\": \"%s\", \"nf4\": \"%s\", \"load_s\": %.1f, "
                            + "\"peak_gib\": %.3f, \"held_gib\": %.3f}%n", dir.getFileName(), device, args[2],
                    (System.nanoTime() - start) / 1e9, gib(device.memory().peakBytes()),
                    gib(device.memory().allocatedBytes()));
        }
    }

    private static double gib(long bytes) {
        return bytes / (double) (1L << 30);
    }
}
