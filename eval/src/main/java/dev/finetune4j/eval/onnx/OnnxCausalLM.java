package dev.finetune4j.eval.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.finetune4j.core.models.CausalLM;

import java.nio.file.Path;

/**
 * A causal LM exported to ONNX (inputs {@code input_ids} and {@code attention_mask}, int64
 * {@code [batch, seq]}; output {@code logits}, float {@code [batch, seq, vocab]}) run by ONNX Runtime, usable
 * wherever eval takes a {@link CausalLM}, e.g. {@link dev.finetune4j.eval.Perplexity}.
 *
 * <pre>{@code
 * try (CausalLM lm = OnnxCausalLM.builder(Path.of("model.onnx")).cuda(true).maxPositionEmbeddings(2048).build()) {
 *     PerplexityResult r = Perplexity.builder().maxLength(1024).stride(512).build().compute(lm, docs);
 * }
 * }</pre>
 *
 * <p>Requires an ONNX Runtime artifact on the class path ({@code onnxruntime} or {@code onnxruntime_gpu}).
 * Thread-safe: ONNX Runtime sessions may run concurrently.
 */
public final class OnnxCausalLM implements CausalLM {
    private final OrtSession session;
    private final ExecutionProvider provider;
    private final int vocabSize;
    private final int maxPositions;

    private OnnxCausalLM(OnnxSessions.Opened opened, int maxPositions) {
        this.session = opened.session();
        this.provider = opened.provider();
        this.maxPositions = maxPositions;
        try {
            NodeInfo out = session.getOutputInfo().get("logits");
            if (out == null) {
                throw new IllegalArgumentException("the ONNX model has no output named 'logits'; it has "
                        + session.getOutputNames() + ". Export with output_names=['logits']");
            }
            long[] shape = ((TensorInfo) out.getInfo()).getShape();
            this.vocabSize = (int) shape[shape.length - 1];
        } catch (OrtException e) {
            throw new IllegalStateException("cannot read the ONNX model's outputs: " + e.getMessage(), e);
        }
    }

    /**
     * A builder for the model file {@code model}.
     *
     * @param model path of the exported {@code .onnx} file
     * @return a new builder with the defaults below
     */
    public static Builder builder(Path model) {
        return new Builder(model);
    }

    /**
     * The execution provider that runs this model (CUDA when it loaded, else the CPU).
     *
     * @return the provider
     */
    public ExecutionProvider executionProvider() {
        return provider;
    }

    @Override
    public float[][][] logits(long[][] inputIds, long[][] attentionMask) {
        return OnnxSessions.run(session, inputIds, attentionMask, "sequences",
                result -> (float[][][]) result.get("logits").orElseThrow().getValue());
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int maxPositionEmbeddings() {
        return maxPositions;
    }

    @Override
    public void close() {
        OnnxSessions.close(session);
    }

    /** Builder of {@link OnnxCausalLM}. */
    public static final class Builder extends ProviderOptions<Builder> {
        private final Path model;
        private int maxPositionEmbeddings = 2048;

        private Builder(Path model) {
            this.model = model;
        }

        /**
         * The longest sequence the exported model supports (ONNX does not record it; default 2048).
         *
         * @param n the maximum number of positions, at least 2
         * @return this builder
         */
        public Builder maxPositionEmbeddings(int n) {
            if (n < 2) {
                throw new IllegalArgumentException("maxPositionEmbeddings must be >= 2, got " + n);
            }
            this.maxPositionEmbeddings = n;
            return this;
        }

        /**
         * Opens the session.
         *
         * @return the model, ready to score; close it to release the session
         */
        public OnnxCausalLM build() {
            return new OnnxCausalLM(open(model), maxPositionEmbeddings);
        }
    }
}
