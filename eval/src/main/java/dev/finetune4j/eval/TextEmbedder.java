package dev.finetune4j.eval;

import java.util.List;

/**
 * Turns texts into fixed-size embeddings, for the embedding scorer of {@link DomainRelevance}.
 * {@code dev.finetune4j.eval.onnx.OnnxSentenceEncoder} implements it with an ONNX sentence encoder; a model
 * of ours implements it with the mask-weighted mean of its last hidden states.
 *
 * <p>Implementations must be safe to call from several threads.
 */
@FunctionalInterface
public interface TextEmbedder {
    /**
     * One embedding per text, all of the same dimension.
     *
     * @param texts the texts to embed
     * @return one vector per text, in input order
     */
    float[][] embed(List<String> texts);
}
