package dev.finetune4j.eval.onnx;

import ai.onnxruntime.OrtSession;
import dev.finetune4j.eval.TextEmbedder;
import dev.finetune4j.eval.TokenEncoder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A sentence encoder exported to ONNX, run by ONNX Runtime, as a {@link TextEmbedder} for the embedding
 * scorer of {@link dev.finetune4j.eval.DomainRelevance}. Its first output is either already pooled
 * ({@code [batch, dim]}, e.g. {@code embeddings}) or token states ({@code [batch, seq, dim]}, e.g.
 * {@code last_hidden_state}), which are then mean-pooled with the attention mask.
 *
 * <pre>{@code
 * Tokenizer tok = ...;   // dev.finetune4j.core.tokenizer
 * try (OnnxSentenceEncoder enc = OnnxSentenceEncoder.builder(Path.of("encoder.onnx"), tok::encode).build()) {
 *     float[][] e = enc.embed(List.of("How do I reset my card PIN?"));
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class OnnxSentenceEncoder implements TextEmbedder, AutoCloseable {
    private final OrtSession session;
    private final ExecutionProvider provider;
    private final TokenEncoder tokenizer;
    private final int batchSize;
    private final int maxLength;
    private final long padId;

    private OnnxSentenceEncoder(Builder b) {
        OnnxSessions.Opened opened = b.open(b.model);
        this.session = opened.session();
        this.provider = opened.provider();
        this.tokenizer = b.tokenizer;
        this.batchSize = b.batchSize;
        this.maxLength = b.maxLength;
        this.padId = b.padId;
    }

    /**
     * The execution provider that runs this encoder (CUDA when it loaded, else the CPU).
     *
     * @return the provider
     */
    public ExecutionProvider executionProvider() {
        return provider;
    }

    /**
     * A builder for the model file {@code model} with the tokenizer that produced its training ids.
     *
     * @param model path of the exported {@code .onnx} file
     * @param tokenizer turns texts into the model's token ids
     * @return a new builder with the defaults below
     */
    public static Builder builder(Path model, TokenEncoder tokenizer) {
        return new Builder(model, tokenizer);
    }

    @Override
    public float[][] embed(List<String> texts) {
        List<float[]> out = new ArrayList<>(texts.size());
        for (int start = 0; start < texts.size(); start += batchSize) {
            List<String> batch = texts.subList(start, Math.min(texts.size(), start + batchSize));
            long[][] ids = new long[batch.size()][];
            int longest = 1;
            for (int i = 0; i < ids.length; i++) {
                long[] t = tokenizer.encode(batch.get(i));
                ids[i] = t.length > maxLength ? Arrays.copyOf(t, maxLength) : t;
                longest = Math.max(longest, ids[i].length);
            }
            long[][] padded = new long[ids.length][longest];
            long[][] mask = new long[ids.length][longest];
            for (int i = 0; i < ids.length; i++) {
                Arrays.fill(padded[i], padId);
                System.arraycopy(ids[i], 0, padded[i], 0, ids[i].length);
                Arrays.fill(mask[i], 0, ids[i].length, 1L);
            }
            out.addAll(Arrays.asList(embedIds(padded, mask)));
        }
        return out.toArray(float[][]::new);
    }

    /**
     * Embeddings of an already tokenized, padded batch ({@code [batch, seq]} ids and mask).
     *
     * @param ids token ids, {@code [batch][seq]}, padded with the pad id
     * @param mask 1 for real tokens and 0 for padding, same shape as {@code ids}
     * @return one embedding per row of {@code ids}
     */
    public float[][] embedIds(long[][] ids, long[][] mask) {
        return OnnxSessions.run(session, ids, mask, "texts", result -> {
            Object value = result.get(0).getValue();
            if (value instanceof float[][] pooled) {
                return pooled;
            }
            if (value instanceof float[][][] states) {
                return meanPool(states, mask);
            }
            throw new IllegalStateException("the encoder's first output is " + value.getClass().getSimpleName()
                    + "; expected float [batch, dim] or [batch, seq, dim]");
        });
    }

    /** The mask-weighted mean over positions of {@code [batch, seq, dim]} states. */
    static float[][] meanPool(float[][][] states, long[][] mask) {
        float[][] out = new float[states.length][];
        for (int b = 0; b < states.length; b++) {
            int dim = states[b][0].length;
            double[] sum = new double[dim];
            long n = 0;
            for (int t = 0; t < states[b].length; t++) {
                if (mask == null || mask[b][t] != 0) {
                    n++;
                    for (int d = 0; d < dim; d++) {
                        sum[d] += states[b][t][d];
                    }
                }
            }
            out[b] = new float[dim];
            for (int d = 0; d < dim; d++) {
                out[b][d] = (float) (sum[d] / Math.max(1, n));
            }
        }
        return out;
    }

    @Override
    public void close() {
        OnnxSessions.close(session);
    }

    /** Builder of {@link OnnxSentenceEncoder}. */
    public static final class Builder extends ProviderOptions<Builder> {
        private final Path model;
        private final TokenEncoder tokenizer;
        private int batchSize = 32;
        private int maxLength = 512;
        private long padId;

        private Builder(Path model, TokenEncoder tokenizer) {
            this.model = model;
            this.tokenizer = tokenizer;
        }

        /**
         * Texts per ONNX call (default 32).
         *
         * @param batchSize texts per call, at least 1
         * @return this builder
         */
        public Builder batchSize(int batchSize) {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
            }
            this.batchSize = batchSize;
            return this;
        }

        /**
         * Longest token sequence; longer texts are truncated (default 512).
         *
         * @param maxLength the most tokens per text, at least 1
         * @return this builder
         */
        public Builder maxLength(int maxLength) {
            if (maxLength < 1) {
                throw new IllegalArgumentException("maxLength must be >= 1, got " + maxLength);
            }
            this.maxLength = maxLength;
            return this;
        }

        /**
         * Padding token id (default 0).
         *
         * @param padId the id written into padded positions
         * @return this builder
         */
        public Builder padId(long padId) {
            this.padId = padId;
            return this;
        }

        /**
         * Opens the session.
         *
         * @return the encoder, ready to embed; close it to release the session
         */
        public OnnxSentenceEncoder build() {
            return new OnnxSentenceEncoder(this);
        }
    }
}
