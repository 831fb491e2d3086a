package dev.finetune4j.core.models;

/**
 * Family-independent shape facts of a transformer, read from its config.
 *
 * @param modelType             config {@code model_type} ("llama", "qwen2", "gpt2", ...)
 * @param vocabSize             output vocabulary
 * @param hiddenSize            residual width C
 * @param numLayers             transformer layers
 * @param numHeads              query heads
 * @param numKeyValueHeads      key/value heads (grouped-query attention when fewer than query heads)
 * @param headDim               per-head dimension
 * @param maxPositionEmbeddings longest supported sequence
 * @param causal                decoder (true) or encoder (false)
 */
public record ModelSpec(String modelType, int vocabSize, int hiddenSize, int numLayers, int numHeads,
                        int numKeyValueHeads, int headDim, int maxPositionEmbeddings, boolean causal) {
}
