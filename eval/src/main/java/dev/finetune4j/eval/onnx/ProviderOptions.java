package dev.finetune4j.eval.onnx;

import java.nio.file.Path;

/**
 * The execution provider settings every ONNX model builder of this package shares: whether to try CUDA first and on
 * which GPU. When the model is built, one log line says which provider runs it.
 *
 * @param <B> the builder type, so that the setters chain
 */
public abstract class ProviderOptions<B extends ProviderOptions<B>> {
    private boolean cuda = true;
    private int deviceId;

    /** For the builders of this package. */
    ProviderOptions() {
    }

    /**
     * Whether to try the CUDA execution provider first (the default); it runs the model when it loads, else
     * the CPU one does, and a log line says which. {@code false} forces the CPU.
     *
     * @param cuda true to try CUDA before the CPU (default), false to run on the CPU only
     * @return this builder
     */
    public B cuda(boolean cuda) {
        this.cuda = cuda;
        return self();
    }

    /**
     * CUDA device index (default 0).
     *
     * @param deviceId the GPU's index, {@code >= 0}
     * @return this builder
     * @throws IllegalArgumentException for a negative index
     */
    public B deviceId(int deviceId) {
        if (deviceId < 0) {
            throw new IllegalArgumentException("deviceId must be >= 0 (the GPU's index), got " + deviceId);
        }
        this.deviceId = deviceId;
        return self();
    }

    /** The session for {@code model} with these settings. */
    OnnxSessions.Opened open(Path model) {
        return OnnxSessions.open(model, cuda, deviceId);
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
