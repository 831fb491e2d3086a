package dev.finetune4j.samples.cli;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.util.Locale;

/**
 * The number formats a command computes in: {@code --precision} of {@code eval} and {@code serve}, and
 * {@code training.precision} of a train config. {@code auto} picks bf16-mixed on a GPU, where float32 products miss
 * the tensor cores and convert every bf16 weight at each use, and f32 on the CPU, whose float32 kernels are the
 * reference that the GPU is checked against.
 */
public enum PrecisionOption {
    /** bf16-mixed on a GPU, f32 on the CPU. */
    AUTO,
    /** {@link Precision#F32}. */
    F32,
    /** {@link Precision#BF16_MIXED}. */
    BF16_MIXED;

    /** The option's description, shared by the commands that take it. */
    public static final String DESCRIPTION = "f32, bf16-mixed or auto (bf16-mixed on a GPU, f32 on the CPU; "
            + "default: ${DEFAULT-VALUE}).";

    /**
     * The choice {@code text} names.
     *
     * @param text {@code auto}, {@code f32} or {@code bf16-mixed} (any case); null means {@code auto}
     * @return the choice
     * @throws IllegalArgumentException naming the accepted values when {@code text} is none of them
     */
    public static PrecisionOption parse(String text) {
        if (text == null) {
            return AUTO;
        }
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "f32" -> F32;
            case "bf16-mixed" -> BF16_MIXED;
            default -> throw new IllegalArgumentException("precision '" + text + "' is not one of f32, bf16-mixed, auto");
        };
    }

    /**
     * The precision to compute in on {@code device}.
     *
     * @param device where the model runs
     * @return F32 or BF16_MIXED
     */
    public Precision on(Device device) {
        return switch (this) {
            case AUTO -> device.isCpu() ? Precision.F32 : Precision.BF16_MIXED;
            case F32 -> Precision.F32;
            case BF16_MIXED -> Precision.BF16_MIXED;
        };
    }

    /**
     * How the commands print a precision: as the option names it.
     *
     * @param precision a precision
     * @return {@code f32} or {@code bf16-mixed}
     */
    public static String label(Precision precision) {
        return precision.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Reads {@code --precision} for picocli. */
    public static final class Converter implements ITypeConverter<PrecisionOption> {
        /** A converter for picocli. */
        public Converter() {
        }

        @Override
        public PrecisionOption convert(String text) {
            try {
                return parse(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
