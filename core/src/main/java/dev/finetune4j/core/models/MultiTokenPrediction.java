package dev.finetune4j.core.models;

import dev.finetune4j.core.models.decoder.BlockPattern;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;

import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The multi-token-prediction layers that GLM-4.5's, DeepSeek-V3's and ERNIE-4.5's published checkpoints carry beside
 * the model (Qwen3-Next's and Qwen3.5's too), which only their own speculative decoding reads: transformers skips them when it loads the causal LM, and
 * so does finetune4j. GLM-4.5 and DeepSeek-V3 store them as further decoder layers ({@code model.layers.N.*} with N at
 * least {@code num_hidden_layers}), ERNIE-4.5 under names holding {@code mtp} ({@code model.mtp_block.0.*}),
 * Qwen3-Next, Qwen3.5 and Nemotron-H under {@code mtp.*}.
 *
 * <p>Thread safety: stateless.
 */
final class MultiTokenPrediction {
    private static final Pattern LAYER = Pattern.compile("^model\\.layers\\.(\\d+)\\.");

    private MultiTokenPrediction() {
    }

    /**
     * Which checkpoint tensors of a model with this configuration are multi-token-prediction weights.
     *
     * @param config the decoder's configuration
     * @return the test of a tensor name; always false for the families without such layers
     */
    static Predicate<String> weights(DecoderConfig config) {
        return switch (config.modelType()) {
            case MoeConfig.GLM_MOE, LatentAttentionConfig.MODEL_TYPE -> name -> beyondLastLayer(name, config.numHiddenLayers());
            case MoeConfig.ERNIE_MOE -> name -> name.contains("mtp");
            case DecoderConfig.QWEN3_NEXT, DecoderConfig.QWEN35_TEXT, DecoderConfig.QWEN35_MOE_TEXT,
                 BlockPattern.MODEL_TYPE ->
                    name -> name.startsWith("mtp.");
            default -> name -> false;
        };
    }

    private static boolean beyondLastLayer(String name, int layers) {
        Matcher m = LAYER.matcher(name);
        return m.find() && (m.group(1).length() > 9 || Integer.parseInt(m.group(1)) >= layers);
    }
}
