package dev.finetune4j.benchmarks.gpu;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tensor.DType;

import java.util.List;

/**
 * The command line of {@link LoraThroughputBenchmark}, with the flags and defaults of {@code hf_peft_bench.py}.
 *
 * @param config                one of {@link ModelShapes#NAMES}
 * @param batch                 sequences per step
 * @param seq                   tokens per sequence
 * @param gradientCheckpointing recompute each layer in the backward
 * @param dora                  DoRA instead of plain LoRA
 * @param qlora                 NF4 base weights (QLoRA)
 * @param steps                 timed steps
 * @param warmup                untimed steps before them
 * @param device                {@code cpu}, {@code cuda:N} or {@code auto}
 * @param precision             {@code bf16-mixed} (the anchor's: bf16 frozen weights, {@link Precision#BF16_MIXED})
 *                              or {@code f32} (float32 weights and {@link Precision#F32})
 * @param profile               one more step after the timed ones, profiled: where its device time went
 */
public record BenchmarkOptions(String config, int batch, int seq, boolean gradientCheckpointing, boolean dora,
                               boolean qlora, int steps, int warmup, String device, String precision,
                               boolean profile) {
    private static final String USAGE = "usage: LoraThroughputBenchmark --config NAME [--batch 8] [--seq 512] "
            + "[--gradient-checkpointing] [--dora] [--qlora] [--steps 10] [--warmup 3] [--device auto] "
            + "[--precision bf16-mixed|f32] [--profile]; NAME is one of " + ModelShapes.NAMES;

    /** Checks the values; messages name the flag. */
    public BenchmarkOptions {
        ModelShapes.config(config);
        if (batch < 1 || seq < 2 || steps < 1 || warmup < 0) {
            throw new IllegalArgumentException("--batch and --steps must be >= 1, --seq >= 2 and --warmup >= 0; got "
                    + batch + ", " + steps + ", " + seq + ", " + warmup);
        }
        if (dora && qlora) {
            throw new IllegalArgumentException("--dora and --qlora together are not a configuration of the benchmark; "
                    + "choose one");
        }
        precisionNamed(precision);
    }

    /**
     * The precision a GPU benchmark's command line names.
     *
     * @param name {@code bf16-mixed} or {@code f32}
     * @return {@link Precision#BF16_MIXED} or {@link Precision#F32}
     * @throws IllegalArgumentException for any other name
     */
    static Precision precisionNamed(String name) {
        return switch (name) {
            case "bf16-mixed" -> Precision.BF16_MIXED;
            case "f32" -> Precision.F32;
            default -> throw new IllegalArgumentException("--precision " + name + " is not a precision of the "
                    + "benchmark; use bf16-mixed (the anchor's) or f32");
        };
    }

    /**
     * The precision the trainer runs in.
     *
     * @return {@link Precision#BF16_MIXED} for {@code bf16-mixed}, else {@link Precision#F32}
     */
    public Precision trainingPrecision() {
        return precisionNamed(precision);
    }

    /**
     * The dtype of the frozen base weights (before QLoRA quantizes the linear ones to NF4).
     *
     * @return {@link DType#BF16} for {@code bf16-mixed}, as the anchor's, else {@link DType#F32}
     */
    public DType frozenDType() {
        return precision.equals("bf16-mixed") ? DType.BF16 : DType.F32;
    }

    /**
     * Reads {@code --flag value} pairs and switches.
     *
     * @param args the command line
     * @return the options
     * @throws IllegalArgumentException for an unknown flag, a missing value or a bad number, with the usage
     */
    public static BenchmarkOptions parse(List<String> args) {
        String config = null;
        int batch = 8;
        int seq = 512;
        boolean checkpointing = false;
        boolean dora = false;
        boolean qlora = false;
        boolean profile = false;
        int steps = 10;
        int warmup = 3;
        String device = "auto";
        String precision = "bf16-mixed";
        for (int i = 0; i < args.size(); i++) {
            String flag = args.get(i);
            switch (flag) {
                case "--gradient-checkpointing" -> checkpointing = true;
                case "--dora" -> dora = true;
                case "--qlora" -> qlora = true;
                case "--profile" -> profile = true;
                case "--config", "--batch", "--seq", "--steps", "--warmup", "--device", "--precision" -> {
                    if (i + 1 == args.size()) {
                        throw new IllegalArgumentException(flag + " needs a value; " + USAGE);
                    }
                    String v = args.get(++i);
                    switch (flag) {
                        case "--config" -> config = v;
                        case "--batch" -> batch = number(flag, v);
                        case "--seq" -> seq = number(flag, v);
                        case "--steps" -> steps = number(flag, v);
                        case "--warmup" -> warmup = number(flag, v);
                        case "--device" -> device = v;
                        default -> precision = v;
                    }
                }
                default -> throw new IllegalArgumentException("unknown argument '" + flag + "'; " + USAGE);
            }
        }
        if (config == null) {
            throw new IllegalArgumentException("--config is required; " + USAGE);
        }
        return new BenchmarkOptions(config, batch, seq, checkpointing, dora, qlora, steps, warmup, device, precision,
                profile);
    }

    private static int number(String flag, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a whole number, got '" + value + "'; " + USAGE);
        }
    }
}
