package dev.finetune4j.gguf;

import java.util.List;
import java.util.stream.IntStream;

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
 * @param valueLayers    the layers that hold a value projection ({@code attn_v} or {@code attn_qkv}), in order:
 *                       llama-quantize counts those it meets, which are not every layer in a model with Mamba-2 layers
 */
record ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings, int experts,
                   List<Integer> valueLayers) {
    ModelLayout {
        valueLayers = List.copyOf(valueLayers);
    }

    /** The layout of a model with a value projection in every layer. */
    ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings, int experts) {
        this(architecture, layers, heads, kvHeads, tiedEmbeddings, experts,
                IntStream.range(0, layers).boxed().toList());
    }

    /** The layout of a dense model. */
    ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings) {
        this(architecture, layers, heads, kvHeads, tiedEmbeddings, 0);
    }

    /**
     * Which value projection, counted from 0, layer {@code layer}'s is (llama-quantize's {@code i_attention_wv}).
     *
     * @throws IllegalArgumentException for a layer without one
     */
    int valueIndex(int layer) {
        int index = valueLayers.indexOf(layer);
        if (index < 0) {
            throw new IllegalArgumentException("layer " + layer + " holds no value projection (its layers with one: "
                    + valueLayers + ")");
        }
        return index;
    }
}
