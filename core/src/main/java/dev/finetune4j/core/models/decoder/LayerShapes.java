package dev.finetune4j.core.models.decoder;

/**
 * The shape of each layer where a family's layers differ from one another (Gemma 4: full-attention layers with heads
 * of their own size and count, kv-shared layers without key/value projections, double-wide MLPs); for the other
 * families every layer has the config's shape.
 *
 * @param config the model's configuration
 */
public record LayerShapes(DecoderConfig config) {

    private boolean fullGemma4Layer(int layer) {
        return config.gemma4() != null && !config.slidingLayers()[layer];
    }

    /**
     * The size of layer {@code layer}'s heads: {@link DecoderConfig#headDim}, or Gemma 4's full layers'
     * {@code global_head_dim}.
     *
     * @param layer the layer's index
     * @return the head size
     */
    public int headDim(int layer) {
        return fullGemma4Layer(layer) ? config.gemma4().globalHeadDim() : config.headDim();
    }

    /**
     * Layer {@code layer}'s key/value heads: {@link DecoderConfig#numKeyValueHeads}, or Gemma 4's full layers' own.
     *
     * @param layer the layer's index
     * @return the key/value heads
     */
    public int keyValueHeads(int layer) {
        return fullGemma4Layer(layer) ? config.gemma4().globalKeyValueHeads() : config.numKeyValueHeads();
    }

    /**
     * The width of layer {@code layer}'s dense MLP: {@link DecoderConfig#intermediateSize}, twice it in Gemma 4's
     * kv-shared layers with {@code use_double_wide_mlp}.
     *
     * @param layer the layer's index
     * @return the MLP's width
     */
    public int intermediateSize(int layer) {
        Gemma4Config g = config.gemma4();
        boolean wide = g != null && g.doubleWideMlp() && g.sharesKeyValues(layer, config.numHiddenLayers());
        return wide ? 2 * config.intermediateSize() : config.intermediateSize();
    }

    /**
     * Whether layer {@code layer} projects keys and values of its own: not one of Gemma 4's kv-shared layers.
     *
     * @param layer the layer's index
     * @return true but for a kv-shared layer
     */
    public boolean projectsKeyValues(int layer) {
        return config.gemma4() == null || !config.gemma4().sharesKeyValues(layer, config.numHiddenLayers());
    }

    /**
     * Whether layer {@code layer} has a {@code v_proj}: not where it projects no keys and values, nor in a Gemma 4
     * full layer whose values are its keys' projection ({@code attention_k_eq_v}).
     *
     * @param layer the layer's index
     * @return whether the layer has a value projection
     */
    public boolean hasValueProjection(int layer) {
        return projectsKeyValues(layer) && !(fullGemma4Layer(layer) && config.gemma4().keysAsValues());
    }

    /**
     * The layer whose keys and values layer {@code layer} attends over: itself, or a Gemma 4 kv-shared layer's
     * source.
     *
     * @param layer the layer's index
     * @return the index of the layer whose keys and values it reads
     */
    public int keyValueSource(int layer) {
        return config.gemma4() == null ? layer : config.gemma4().kvSource(layer, config.slidingLayers());
    }

    /**
     * Whether a later layer attends over layer {@code layer}'s keys and values (a Gemma 4 kv-shared layer's source).
     *
     * @param layer the layer's index
     * @return true when some later layer reads them
     */
    public boolean sharedLater(int layer) {
        for (int later = layer + 1; later < config.numHiddenLayers(); later++) {
            if (keyValueSource(later) == layer) {
                return true;
            }
        }
        return false;
    }

    /**
     * The matrices of layers whose shapes differ (attention of each layer's shape, dense MLPs) and of Gemma 4's
     * per-layer inputs; norms left out.
     *
     * @return the number of matrix parameters
     */
    long gemma4ParameterCount() {
        long h = config.hiddenSize();
        long count = 0;
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            long q = (long) config.numAttentionHeads() * headDim(i);
            long kv = (long) keyValueHeads(i) * headDim(i);
            count += 2 * h * q + (projectsKeyValues(i) ? (hasValueProjection(i) ? 2 : 1) * h * kv : 0)
                    + 3 * h * intermediateSize(i);
        }
        long perLayer = (long) config.numHiddenLayers() * config.gemma4().perLayerInputSize();
        return count + (perLayer == 0 ? 0 : perLayer * (config.gemma4().perLayerVocabSize() + 3 * h));
    }
}
