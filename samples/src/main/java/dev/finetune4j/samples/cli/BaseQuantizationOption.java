package dev.finetune4j.samples.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code serve --base-quantization}: whether the served base is quantized to NF4. A QLoRA adapter computes what it
 * was trained to only over the NF4 base it was trained on, whose linear weights also take about 0.52 bytes a value
 * instead of 2 (bf16) or 4 (f32); an adapter trained on a full-precision base is served best on one.
 */
enum BaseQuantizationOption {
    /** NF4 when every adapter given at start is a QLoRA one (and there is at least one), else full precision. */
    AUTO,
    /** Always NF4. */
    NF4,
    /** Always full precision. */
    NONE;

    /** The option's description. */
    static final String DESCRIPTION = "auto, nf4 or none: serve the base NF4-quantized, as QLoRA adapters were "
            + "trained on it, or in full precision; auto picks nf4 when every --adapter was trained with QLoRA "
            + "(default: ${DEFAULT-VALUE}).";

    /**
     * The choice {@code text} names.
     *
     * @throws IllegalArgumentException naming the accepted values when {@code text} is none of them
     */
    static BaseQuantizationOption parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "nf4" -> NF4;
            case "none" -> NONE;
            default -> throw new IllegalArgumentException("base quantization '" + text + "' is not one of auto, nf4, none");
        };
    }

    /**
     * Whether to quantize the base under the adapters given at start.
     *
     * @param qlora per adapter name, whether it was trained on a quantized base
     */
    boolean quantizes(Map<String, Boolean> qlora) {
        return switch (this) {
            case AUTO -> !qlora.isEmpty() && !qlora.containsValue(false);
            case NF4 -> true;
            case NONE -> false;
        };
    }

    /**
     * The note for auto mode over a mix of QLoRA and other adapters, which keeps the base in full precision: the
     * QLoRA ones then compute other than in training. Null when there is nothing to note.
     *
     * @param qlora per adapter name, whether it was trained on a quantized base
     */
    String mixedNote(Map<String, Boolean> qlora) {
        List<String> quantized = qlora.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList();
        if (this != AUTO || quantized.isEmpty() || quantized.size() == qlora.size()) {
            return null;
        }
        return "note: adapters " + quantized + " were trained with QLoRA on an NF4-quantized base, the others on a "
                + "full-precision one; the base is served in full precision, so " + quantized + " compute slightly "
                + "other logits than in training: --base-quantization nf4 serves them as trained (the others then "
                + "over NF4)";
    }

    /** Reads {@code --base-quantization} for picocli. */
    static final class Converter implements ITypeConverter<BaseQuantizationOption> {
        @Override
        public BaseQuantizationOption convert(String text) {
            try {
                return parse(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
