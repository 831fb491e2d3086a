package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * Llama 4's attention temperature as Ministral 3 ({@code ministral3}) and Mistral 4 ({@code mistral4}) apply it: after
 * the rotary embedding, the queries of position p are multiplied by {@code 1 + beta ln(1 + floor(p / original))}, a
 * factor that grows by steps of the pretrained length and keeps attention sharp over long contexts. The keys are not
 * scaled. Both values come from {@code rope_parameters}, where transformers' {@code Ministral3Attention} and
 * {@code Mistral4Attention} read them. It is folded into the queries' rotary tables
 * ({@link RotaryFrequencies#withQueryFactor}); Mistral 4 scales whole latent-attention query heads, whose no-rope
 * dimensions take it from {@link RotaryFrequencies#unrotatedQueries}.
 *
 * @param beta                          {@code llama_4_scaling_beta}, above 0
 * @param originalMaxPositionEmbeddings {@code original_max_position_embeddings}: the positions of each step
 */
public record QueryTemperature(double beta, int originalMaxPositionEmbeddings) implements Rotary.PositionFactor {
    private static final String BETA = "llama_4_scaling_beta";
    private static final String ORIGINAL = "original_max_position_embeddings";

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException for a beta that is not a finite number above 0, or a step below 1
     */
    public QueryTemperature {
        if (!(beta > 0 && Double.isFinite(beta)) || originalMaxPositionEmbeddings < 1) {
            throw new IllegalArgumentException("config.json rope_parameters: " + BETA + " = " + beta + " and " + ORIGINAL
                    + " = " + originalMaxPositionEmbeddings + " must be a finite number > 0 and an integer >= 1");
        }
    }

    /**
     * Ministral 3's or Mistral 4's temperature from its config.json, whose {@code rope_parameters} (or older
     * {@code rope_scaling}) must name both values: transformers' attention fails without either.
     *
     * @param c the config.json, the family's defaults filled in
     * @param type its {@code model_type}: {@code ministral3} or {@code mistral4}
     * @return the temperature, or null for a beta of 0 (a factor of 1 everywhere)
     * @throws IllegalArgumentException naming the missing or invalid field and what to set
     */
    static QueryTemperature fromJson(JsonNode c, String type) {
        JsonNode params = JsonFields.object(c, "rope_parameters", "config.json");
        String at = "config.json rope_parameters";
        if (!params.isObject()) {
            params = JsonFields.object(c, "rope_scaling", "config.json");
            at = "config.json rope_scaling";
        }
        if (!params.has(BETA) || !params.has(ORIGINAL)) {
            boolean mistral4 = type.equals(LatentAttentionConfig.MISTRAL4_MODEL_TYPE);
            throw new IllegalArgumentException(at + " lacks '" + (params.has(BETA) ? ORIGINAL : BETA) + "': a "
                    + type + " model multiplies its queries by 1 + " + BETA + " * ln(1 + floor(position / " + ORIGINAL
                    + ")), and transformers' " + (mistral4 ? "Mistral4Attention" : "Ministral3Attention") + " fails "
                    + "without both; set them as the checkpoint was trained ("
                    + (mistral4 ? "Mistral Small 4's config: 0.1 and 8192" : "Ministral 3's configs: 0.1 and 16384")
                    + ")");
        }
        double beta = JsonFields.number(params, BETA, 0, v -> v >= 0, ">= 0", at);
        int original = JsonFields.requiredInteger(params, ORIGINAL, 1, ConfigLimits.POSITIONS, at);
        return beta == 0 ? null : new QueryTemperature(beta, original);
    }

    /**
     * The factor of the queries at a position, in float32 as transformers computes it.
     *
     * @param position a token's position, from 0
     * @return {@code 1 + beta ln(1 + floor(position / original))}
     */
    @Override
    public float at(int position) {
        float steps = (float) Math.floor((float) position / originalMaxPositionEmbeddings);
        return 1f + (float) beta * (float) Math.log(1f + steps);
    }
}
