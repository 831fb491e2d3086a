package dev.finetune4j.gguf;

/**
 * What llama.cpp's choice of a K-quant type per tensor reads of a model beside the tensor itself
 * ({@link KQuantMix}).
 *
 * @param architecture   the GGUF architecture
 * @param layers         the number of layers ({@code <arch>.block_count})
 * @param heads          query heads
 * @param kvHeads        key/value heads
 * @param tiedEmbeddings whether the file has no {@code output.weight}, its head being {@code token_embd.weight}
 * @param experts        experts per sparse layer ({@code <arch>.expert_count}), 0 for a dense model
 */
record ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings, int experts) {
    /** The layout of a dense model. */
    ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings) {
        this(architecture, layers, heads, kvHeads, tiedEmbeddings, 0);
    }
}
