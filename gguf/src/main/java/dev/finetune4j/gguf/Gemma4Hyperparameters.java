package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.models.decoder.LayerShapes;
import dev.finetune4j.core.models.decoder.RopeConfig;

import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Gemma 4's keys in llama.cpp's {@code gemma4} architecture (src/models/gemma4.cpp, as convert_hf_to_gguf.py's
 * {@code Gemma4Model} writes them), and the refusal of what its graph cannot say:
 * <ul>
 *   <li>heads of each layer kind's shape: {@code attention.key_length} and {@code value_length} the full layers'
 *       {@code global_head_dim}, {@code *_swa} the sliding layers' {@code head_dim}, {@code attention.head_count_kv}
 *       per layer, {@code rope.dimension_count} the full layers' whole head (their "proportional" rotary leaves pairs
 *       unturned through {@code rope_freqs}, {@link #ropeFreqs(DecoderConfig)}) and {@code rope.dimension_count_swa} the sliding
 *       layers' rotated dimensions;</li>
 *   <li>{@code feed_forward_length} per layer where the kv-shared layers' MLPs are double wide,
 *       {@code embedding_length_per_layer_input} (0 without per-layer inputs, which the graph then skips) and
 *       {@code attention.shared_kv_layers};</li>
 *   <li>refused: per-layer embeddings over another vocabulary than the model's ({@code per_layer_token_embd} has a row
 *       per token), and kv-shared layers that read other layers
 *       than llama.cpp's cache gives them: a shared sliding layer the one two before the first shared layer, a shared
 *       full layer the one just before it (transformers reads the last earlier layer of the same kind).</li>
 * </ul>
 * Its graph fixes the attention's scale at 1, as Gemma 4's {@code self.scaling}, with no key for it.
 */
final class Gemma4Hyperparameters {
    /**
     * The frequency divisor of the pairs a "proportional" rotary leaves unturned, as the converter writes it: the
     * angle {@code p theta^(-2i/d) / 1e30} is 0 in float32 for any position, so cos 1 and sin 0.
     */
    static final float UNTURNED = 1e30f;

    private final DecoderConfig config;
    private final Gemma4Config gemma4;
    private final LayerShapes shapes;

    /**
     * Gemma 4's keys of {@code config}, refusing through {@code cannot} what the graph cannot say.
     *
     * @throws IllegalArgumentException through {@code cannot}
     */
    Gemma4Hyperparameters(DecoderConfig config, Consumer<String> cannot) {
        this.config = config;
        this.gemma4 = config.gemma4();
        this.shapes = config.layerShapes();
        if (gemma4.perLayerInputSize() > 0 && gemma4.perLayerVocabSize() != config.vocabSize()) {
            cannot.accept("per-layer embeddings over vocab_size_per_layer_input " + gemma4.perLayerVocabSize()
                    + " tokens (its per_layer_token_embd holds a row for each of the vocab_size " + config.vocabSize()
                    + " tokens)");
        }
        int layers = config.numHiddenLayers();
        // NOTE: its cache asserts 2 layers or more with keys and values of their own; with one, every layer would be
        // of that layer's kind (Gemma4Config finds each shared layer an earlier one of its kind), so full as the
        // last, and a model without sliding layers is refused already (SlidingWindow.REQUIRED)
        int ownKeyValues = layers - gemma4.kvSharedLayers();
        for (int i = ownKeyValues; i < layers; i++) {
            boolean sliding = config.slidingLayers()[i];
            int theirs = ownKeyValues - (sliding ? 2 : 1);
            if (shapes.keyValueSource(i) != theirs) {
                cannot.accept("kv-shared layer " + i + " reading layer " + shapes.keyValueSource(i) + "'s keys and "
                        + "values (its cache gives a shared " + (sliding ? "sliding" : "full") + " layer those of layer "
                        + theirs + ": the last two layers before the kv-shared ones must be a sliding-window layer, "
                        + "then a full-attention layer, as in the published Gemma 4)");
            }
        }
    }

    /** The keys, {@code a} being {@code gemma4.}. */
    void put(GgufMetadata meta, String a) {
        int layers = config.numHiddenLayers();
        int[] widths = IntStream.range(0, layers).map(shapes::intermediateSize).toArray();
        if (IntStream.of(widths).allMatch(w -> w == config.intermediateSize())) {
            meta.putUint32(a + "feed_forward_length", config.intermediateSize());
        } else {
            meta.putInt32s(a + "feed_forward_length", widths);
        }
        int full = gemma4.globalHeadDim();
        meta.putInt32s(a + "attention.head_count_kv", IntStream.range(0, layers).map(shapes::keyValueHeads).toArray())
                .putUint32(a + "attention.key_length", full)
                .putUint32(a + "attention.value_length", full)
                .putUint32(a + "attention.key_length_swa", config.headDim())
                .putUint32(a + "attention.value_length_swa", config.headDim())
                .putUint32(a + "rope.dimension_count", full)
                .putUint32(a + "rope.dimension_count_swa", config.rotaryDim())
                .putUint32(a + "attention.shared_kv_layers", gemma4.kvSharedLayers())
                .putUint32(a + "embedding_length_per_layer_input", gemma4.perLayerInputSize());
    }

    /**
     * {@code rope_freqs.weight} of Gemma 4's {@code config}, which the full layers alone read: per pair of their heads
     * the divisor of its frequency, the "proportional" rotary's {@code factor} for the
     * {@code floor(partial_rotary_factor d / 2)} pairs that turn (all of them for a {@code default} rotary) and
     * {@link #UNTURNED} for the rest; null for a model without full layers, whose file holds none.
     */
    static float[] ropeFreqs(DecoderConfig config) {
        boolean anyFull = IntStream.range(0, config.numHiddenLayers()).anyMatch(i -> !config.slidingLayers()[i]);
        if (!anyFull) {
            return null;
        }
        RopeConfig rope = config.rope();
        float[] divisors = new float[config.gemma4().globalHeadDim() / 2];
        // NOTE: floor(fraction * d / 2) as transformers' int(); RopeConfig's fraction is 1 for a default rotary
        int turning = (int) Math.floor(rope.rotatedFraction() * divisors.length);
        float factor = rope.ropeType().equals("proportional") ? (float) rope.factor() : 1f;
        for (int i = 0; i < divisors.length; i++) {
            divisors[i] = i < turning ? factor : UNTURNED;
        }
        return divisors;
    }
}
