package dev.finetune4j.gguf;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * What llama.cpp's choice of a K-quant or I-quant type per tensor reads of a model, and of the quantization run,
 * beside the tensor itself ({@link KQuantMix}).
 *
 * @param architecture   the GGUF architecture
 * @param layers         the number of layers ({@code <arch>.block_count})
 * @param heads          query heads
 * @param kvHeads        key/value heads
 * @param tiedEmbeddings whether the file has no {@code output.weight}, its head being {@code token_embd.weight}
 * @param experts        experts per sparse layer ({@code <arch>.expert_count}), 0 for a dense model
 * @param valueLayers    the layers that hold a value projection ({@code attn_v} or {@code attn_qkv}), in order:
 *                       llama-quantize counts those it meets, which are not every layer in a model with Mamba-2 layers,
 *                       nor in Gemma 4, whose kv-shared layers and full layers of keys as values have none
 * @param downLayers     the layers that hold an MLP's down projection ({@code ffn_down}), in order: in a model without
 *                       experts llama-quantize counts those it meets (Nemotron-H's MLP layers), with experts it reads
 *                       the layer from the name
 * @param importanceMatrix whether the matrices are quantized under an importance matrix (llama-quantize's
 *                       {@code has_imatrix}, which the IQ4 mixes' down projections read)
 */
record ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings, int experts,
                   List<Integer> valueLayers, List<Integer> downLayers, boolean importanceMatrix) {
    private static final Pattern LAYER = Pattern.compile("^blk\\.(\\d+)\\.");

    ModelLayout {
        valueLayers = List.copyOf(valueLayers);
        downLayers = List.copyOf(downLayers);
    }

    /** The layout of a model with a value projection and a down projection in every layer. */
    ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings, int experts) {
        this(architecture, layers, heads, kvHeads, tiedEmbeddings, experts, IntStream.range(0, layers).boxed().toList(),
                IntStream.range(0, layers).boxed().toList(), false);
    }

    /** The layout of a dense model. */
    ModelLayout(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings) {
        this(architecture, layers, heads, kvHeads, tiedEmbeddings, 0);
    }

    /**
     * The layout of a file of the GGUF tensors {@code ggufNames}, whose value and down projections are counted where
     * they are, as llama-quantize meets them.
     */
    static ModelLayout of(String architecture, int layers, int heads, int kvHeads, boolean tiedEmbeddings, int experts,
                          List<String> ggufNames) {
        return new ModelLayout(architecture, layers, heads, kvHeads, tiedEmbeddings, experts,
                layersHolding(ggufNames, "attn_v.weight", "attn_qkv.weight"),
                layersHolding(ggufNames, "ffn_down.weight"), false);
    }

    /** This layout quantized with an importance matrix ({@code true}) or without one. */
    ModelLayout withImportanceMatrix(boolean importanceMatrix) {
        return new ModelLayout(architecture, layers, heads, kvHeads, tiedEmbeddings, experts, valueLayers, downLayers,
                importanceMatrix);
    }

    /** Query heads per key/value head, as llama.cpp's {@code n_gqa()} divides them (0 without key/value heads). */
    int queryGroups() {
        return kvHeads == 0 ? 0 : heads / kvHeads;
    }

    /**
     * Which value projection, counted from 0, layer {@code layer}'s is (llama-quantize's {@code i_attention_wv}).
     *
     * @throws IllegalArgumentException for a layer without one
     */
    int valueIndex(int layer) {
        return indexIn(valueLayers, layer, "value projection");
    }

    /**
     * The position llama-quantize weighs layer {@code layer}'s down projection by: the layer itself in a model with
     * experts, otherwise which down projection it is, counted from 0 ({@code i_ffn_down}); either of {@link #layers}.
     *
     * @throws IllegalArgumentException for a model without experts and a layer without one
     */
    int downIndex(int layer) {
        return experts > 1 ? layer : indexIn(downLayers, layer, "down projection");
    }

    private static int indexIn(List<Integer> holders, int layer, String what) {
        int index = holders.indexOf(layer);
        if (index < 0) {
            throw new IllegalArgumentException("layer " + layer + " holds no " + what + " (its layers with one: "
                    + holders + ")");
        }
        return index;
    }

    private static List<Integer> layersHolding(List<String> ggufNames, String... suffixes) {
        return ggufNames.stream().filter(n -> List.of(suffixes).stream().anyMatch(s -> n.endsWith("." + s)))
                .map(LAYER::matcher).filter(Matcher::find).map(m -> Integer.parseInt(m.group(1))).distinct().sorted()
                .toList();
    }
}
