package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;

import java.util.Objects;

/**
 * How {@link AutoModel} loads a model folder.
 *
 * <pre>{@code
 * LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().device(Device.cpu()).build());
 * }</pre>
 *
 * @param device where the parameters live; {@link Device#auto()} by default (a GPU when a backend for one is
 *               present, else the CPU)
 */
public record LoadOptions(Device device) {

    public LoadOptions {
        Objects.requireNonNull(device, "device");
    }

    /** The defaults: {@link Device#auto()}. */
    public static LoadOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link LoadOptions}; unset values take their defaults. */
    public static final class Builder {
        private Device device;

        private Builder() {
        }

        /** Where the parameters live. */
        public Builder device(Device d) {
            this.device = Objects.requireNonNull(d, "device");
            return this;
        }

        public LoadOptions build() {
            return new LoadOptions(device != null ? device : Device.auto());
        }
    }
}
