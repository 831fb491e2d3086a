package dev.finetune4j.core.models.gpt2;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.ModelSpec;

/** GPT-2's config.json ({@code n_embd}, {@code n_head}, ...), field names mirrored. */
public record Gpt2Config(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead, int nInner,
                         Activations.Kind activationFunction, float layerNormEpsilon) {

    public Gpt2Config {
        if (nEmbd <= 0 || nHead <= 0 || nEmbd % nHead != 0) {
            throw new IllegalArgumentException("config.json: n_embd " + nEmbd + " must be a positive multiple of n_head " + nHead);
        }
    }

    public static Gpt2Config fromJson(JsonNode c) {
        int embd = c.path("n_embd").asInt();
        JsonNode inner = c.path("n_inner");
        return new Gpt2Config(c.path("vocab_size").asInt(), c.path("n_positions").asInt(1024), embd,
                c.path("n_layer").asInt(), c.path("n_head").asInt(),
                inner.isNumber() ? inner.asInt() : 4 * embd,
                Activations.Kind.fromConfig(c.path("activation_function").asText("gelu_new")),
                (float) c.path("layer_norm_epsilon").asDouble(1e-5));
    }

    public ModelSpec spec() {
        return new ModelSpec("gpt2", vocabSize, nEmbd, nLayer, nHead, nHead, nEmbd / nHead, nPositions, true);
    }
}
