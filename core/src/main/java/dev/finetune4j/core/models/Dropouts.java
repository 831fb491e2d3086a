package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;

/**
 * The dropouts a checkpoint's config.json asks for in training mode, where the family's transformers class applies
 * them (each is the identity in eval mode, and a probability of 0 draws nothing).
 *
 * @param attention on the attention probabilities, after the softmax ({@code attention_dropout}, GPT-2's
 *                  {@code attn_pdrop}, BERT's {@code attention_probs_dropout_prob})
 * @param residual on each sub-layer's output before it joins the residual stream (Phi-3's and GPT-2's
 *                 {@code resid_pdrop}, StarCoder2's and Seed-OSS's {@code residual_dropout}, BERT's
 *                 {@code hidden_dropout_prob})
 * @param embedding on the input embeddings before the first layer (GPT-2's {@code embd_pdrop}, StarCoder2's
 *                  {@code embedding_dropout}, BERT's {@code hidden_dropout_prob} after its embeddings' LayerNorm)
 */
public record Dropouts(float attention, float residual, float embedding) {
    /** No dropout anywhere. */
    public static final Dropouts NONE = new Dropouts(0f, 0f, 0f);

    /** Checks that each probability lies in [0, 1). */
    public Dropouts {
        for (float p : new float[]{attention, residual, embedding}) {
            if (!(p >= 0 && p < 1)) {
                throw new IllegalArgumentException("a dropout probability must be in [0, 1), got " + p);
            }
        }
    }

    /**
     * The dropout probability {@code field} of a config, or {@code fallback} when it is absent or null.
     *
     * @param c the parsed config.json
     * @param field the field's name
     * @param fallback the family's default
     * @param where the file, for messages
     * @return the probability, in [0, 1)
     * @throws IllegalArgumentException when the value is not a number in [0, 1)
     */
    public static float probability(JsonNode c, String field, double fallback, String where) {
        return (float) JsonFields.number(c, field, fallback, p -> p >= 0 && p < 1, "in [0, 1)", where);
    }
}
