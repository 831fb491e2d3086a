package dev.finetune4j.core.models;

/**
 * Checks of the token type ids a {@link SequenceClassifier} is given: the table of a BERT has
 * {@code type_vocab_size} rows (2: the first and second text of a pair), RoBERTa's and XLM-RoBERTa's one (their pair
 * template gives type 0 to both texts), and a model without the table (DistilBERT, the decoders) takes only 0s, as
 * transformers' classes of those models take no {@code token_type_ids}.
 */
public final class TokenTypeIds {
    private TokenTypeIds() {
    }

    /**
     * Fails unless {@code types} has the shape of {@code ids} and each of its ids is below {@code typeVocabSize}
     * (0 only, when the model has no table).
     *
     * @param types the type ids, {@code [B][T]}; null (all 0) passes
     * @param ids the token ids they go with, {@code [B][T]}
     * @param typeVocabSize the rows of the model's token-type table, 0 when it has none
     * @param model the model, as messages name it (its {@code model_type})
     * @throws IllegalArgumentException naming the row, column and limit of the first id out of range
     */
    public static void check(long[][] types, long[][] ids, int typeVocabSize, String model) {
        if (types == null) {
            return;
        }
        if (types.length != ids.length) {
            throw new IllegalArgumentException(types.length + " rows of token type ids for " + ids.length
                    + " rows of input ids: give one type id per token, or null for all 0");
        }
        for (int r = 0; r < types.length; r++) {
            if (types[r].length != ids[r].length) {
                throw new IllegalArgumentException("row " + r + " has " + types[r].length + " token type ids for "
                        + ids[r].length + " input ids: give one type id per token, or null for all 0");
            }
            for (int c = 0; c < types[r].length; c++) {
                long type = types[r][c];
                if (type != 0 && (type < 0 || type >= typeVocabSize)) {
                    throw new IllegalArgumentException("token type id " + type + " at row " + r + ", column " + c
                            + " is out of range: " + (typeVocabSize == 0 ? model + " has no token type embeddings "
                            + "(transformers' classifier of " + model + " takes no token_type_ids), so every type id "
                            + "must be 0; pass null" : model + "'s config.json has type_vocab_size " + typeVocabSize
                            + ", so type ids are in [0, " + typeVocabSize + ")" + (typeVocabSize == 1
                            ? " (its tokenizer's pair template gives both texts type 0)" : "")));
                }
            }
        }
    }
}
