package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;

import java.util.Objects;

/**
 * How {@link AutoModel} loads a model folder.
 *
 * <pre>{@code
 * LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().device(Device.cpu()).build());
 * LanguageModel f32 = AutoModel.loadCausalLM(dir, LoadOptions.builder().dtype(DType.F32).build());
 * }</pre>
 *
 * @param dtype  the floating-point type weights are stored in, or null to keep each weight's dtype in the
 *               checkpoint (the default: a bf16 checkpoint stays bf16, memory-mapped without a copy on the CPU)
 * @param device where the parameters live; {@link Device#auto()} by default (a GPU when a backend for one is
 *               present, else the CPU)
 */
public record LoadOptions(DType dtype, Device device) {

    /** Checks that a device is given and that the dtype, when given, is a floating-point type. */
    public LoadOptions {
        Objects.requireNonNull(device, "device");
        if (dtype != null && !dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("weights are stored as F32, BF16 or F16, not " + dtype);
        }
    }

    /**
     * The defaults: each weight in its checkpoint dtype, on {@link Device#auto()}.
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
         * Builds the options.
         *
         * @return the options
         */
        public LoadOptions build() {
            return new LoadOptions(dtype, device != null ? device : Device.auto());
        }
    }
}
