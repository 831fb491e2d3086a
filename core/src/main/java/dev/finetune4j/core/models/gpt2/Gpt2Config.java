package dev.finetune4j.core.models.gpt2;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.Dropouts;
import dev.finetune4j.core.models.ModelSpec;

/**
 * GPT-2's config.json ({@code n_embd}, {@code n_head}, ...), field names mirrored.
 *
 * @param vocabSize number of token ids ({@code vocab_size})
 * @param nPositions longest sequence, the rows of the learned position table ({@code n_positions})
 * @param nEmbd hidden size C ({@code n_embd})
 * @param nLayer number of transformer blocks ({@code n_layer})
 * @param nHead attention heads; divides {@code nEmbd} ({@code n_head})
 * @param nInner MLP width ({@code n_inner}, default {@code 4 * n_embd})
 * @param activationFunction the MLP's activation ({@code activation_function}, default {@code gelu_new})
 * @param layerNormEpsilon the LayerNorms' epsilon ({@code layer_norm_epsilon})
 * @param dropouts the training dropouts: {@code attn_pdrop} on the attention probabilities, {@code resid_pdrop} on
 *                 the attention's and the MLP's outputs, {@code embd_pdrop} on the summed token and position
 *                 embeddings (0.1 each by default, as GPT-2's)
 */
public record Gpt2Config(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead, int nInner,
                         Activations.Kind activationFunction, float layerNormEpsilon, Dropouts dropouts) {

    /** GPT-2's default for each of its dropouts, as transformers' {@code GPT2Config}. */
    private static final double DEFAULT_DROPOUT = 0.1;

    /** Checks that {@code nEmbd} is a positive multiple of {@code nHead}. */
    public Gpt2Config {
        if (nEmbd <= 0 || nHead <= 0 || nEmbd % nHead != 0) {
            throw new IllegalArgumentException("config.json: n_embd " + nEmbd + " must be a positive multiple of n_head " + nHead);
        }
    }

    /**
     * Reads a GPT-2 config.json, with GPT-2's defaults for the optional fields.
     *
     * @param c the parsed config.json
     * @return the configuration
     */
    public static Gpt2Config fromJson(JsonNode c) {
        String at = "config.json";
        int embd = JsonFields.requiredInteger(c, "n_embd", 1, ConfigLimits.HIDDEN, at);
        return new Gpt2Config(JsonFields.requiredInteger(c, "vocab_size", 1, ConfigLimits.VOCAB, at),
                JsonFields.integer(c, "n_positions", 1024, 1, ConfigLimits.POSITIONS, at), embd,
                JsonFields.requiredInteger(c, "n_layer", 1, ConfigLimits.LAYERS, at),
                JsonFields.requiredInteger(c, "n_head", 1, ConfigLimits.HEADS, at),
                JsonFields.integer(c, "n_inner", 4 * embd, 1, ConfigLimits.INTERMEDIATE, at),
                Activations.Kind.fromConfig(c.path("activation_function").asText("gelu_new")),
                (float) JsonFields.number(c, "layer_norm_epsilon", 1e-5, ConfigLimits.NORM_EPS,
                        ConfigLimits.NORM_EPS_RANGE, at),
                new Dropouts(Dropouts.probability(c, "attn_pdrop", DEFAULT_DROPOUT, at),
                        Dropouts.probability(c, "resid_pdrop", DEFAULT_DROPOUT, at),
                        Dropouts.probability(c, "embd_pdrop", DEFAULT_DROPOUT, at)));
    }

    /**
     * Parameters of the embeddings and the layers' matrices: a lower bound on what the checkpoint must hold.
     *
     * @return the number of matrix and embedding parameters
     */
    public long parameterCount() {
        long e = nEmbd;
        return ((long) vocabSize + nPositions) * e + nLayer * (4 * e * e + 2 * e * nInner);
    }

    /**
     * The shape facts of a model of this configuration.
     *
     * @return the model's spec
     */
    public ModelSpec spec() {
        return new ModelSpec("gpt2", vocabSize, nEmbd, nLayer, nHead, nHead, nEmbd / nHead, nPositions, true);
    }
}
