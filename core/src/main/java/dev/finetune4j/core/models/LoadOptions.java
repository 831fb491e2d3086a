package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;

import java.util.Objects;

/**
 * How {@link AutoModel} loads a model folder.
 *
 * <pre>{@code
 * LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().device(Device.cpu()).build());
 * LanguageModel f32 = AutoModel.loadCausalLM(dir, LoadOptions.builder().dtype(DType.F32).build());
 * LanguageModel nf4 = AutoModel.loadCausalLM(dir, LoadOptions.builder().quantization(Quantization.NF4).build());
 * }</pre>
 *
 * @param dtype  the floating-point type weights are stored in, or null to keep each weight's dtype in the
 *               checkpoint (the default: a bf16 checkpoint stays bf16, memory-mapped without a copy on the CPU)
 * @param device where the parameters live; {@link Device#auto()} by default (a GPU when a backend for one is
 *               present, else the CPU)
 * @param quantization how linear weights are stored: {@link Quantization#NONE} by default; with
 *               {@link Quantization#NF4} each linear weight except {@code lm_head} is quantized as it is read (the
 *               peak never holds a float32 or whole bf16 copy of the model), and embeddings, norms, biases and
 *               {@code lm_head} stay in {@code dtype}
 */
public record LoadOptions(DType dtype, Device device, Quantization quantization) {

    /**
     * Checks the options.
     *
     * @param dtype        the weights' dtype, or null for the checkpoint's
     * @param device       where the parameters live
     * @param quantization how linear weights are stored
     * @throws IllegalArgumentException when {@code dtype} is not F32, BF16 or F16, or {@code device} is
     *                                  {@link Device#meta()}
     */
    public LoadOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(quantization, "quantization");
        if (device.equals(Device.meta())) {
            // the meta device keeps no values: a load would read the whole checkpoint into nothing, and the model
            // would fail only at its first forward pass
            throw new IllegalArgumentException("weights cannot be loaded onto the meta device, which holds shapes only; "
                    + "load onto Device.cpu() or a GPU, or build a shapes-only model with "
                    + "AutoModel.newCausalLM(config, TensorScope.detached(Device.meta()))");
        }
        if (dtype != null && !dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("weights are stored as F32, BF16 or F16, not " + dtype);
        }
    }

    /**
     * The defaults: each weight in its checkpoint dtype, on {@link Device#auto()}, not quantized.
     *
     * @return the default options
     */
    public static LoadOptions defaults() {
        return builder().build();
    }

    /**
     * A builder with nothing set: the checkpoint's dtypes, on {@link Device#auto()}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link LoadOptions}; unset values take their defaults. */
    public static final class Builder {
        private DType dtype;
        private Device device;
        private Quantization quantization = Quantization.NONE;

        private Builder() {
        }

        /**
         * The dtype to store weights in (F32, BF16 or F16); unset keeps the checkpoint's.
         *
         * @param d {@link DType#F32}, {@link DType#BF16} or {@link DType#F16}
         * @return this builder
         */
        public Builder dtype(DType d) {
            this.dtype = Objects.requireNonNull(d, "dtype");
            return this;
        }

        /**
         * Where the parameters live.
         *
         * @param d the device (default {@link Device#auto()})
         * @return this builder
         */
        public Builder device(Device d) {
            this.device = Objects.requireNonNull(d, "device");
            return this;
        }

        /**
         * How linear weights are stored ({@link Quantization#NF4} for a QLoRA base); unset is {@link Quantization#NONE}.
         *
         * @param q the quantization
         * @return this builder
         */
        public Builder quantization(Quantization q) {
            this.quantization = Objects.requireNonNull(q, "quantization");
            return this;
        }

        /**
         * The options, with defaults for what was not set.
         *
         * @return the options
         */
        public LoadOptions build() {
            return new LoadOptions(dtype, device != null ? device : Device.auto(), quantization);
        }
    }
}
