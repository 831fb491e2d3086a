package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Embedding;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.LayerNorm;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.OptionalInt;

/**
 * The embeddings of BERT's family: {@code word_embeddings} plus {@code position_embeddings} plus (but for DistilBERT)
 * {@code token_type_embeddings} of each token's type, then {@code LayerNorm} and, in training, dropout. RoBERTa's position ids
 * count the real tokens from {@code pad_token_id + 1}, a pad id's being {@code pad_token_id} itself; the others'
 * are 0, 1, 2, ...
 */
final class BertEmbeddings extends Module {
    private final EncoderConfig config;
    private final boolean positionsAfterPadding;

    BertEmbeddings(TensorScope scope, EncoderConfig c, boolean positionsAfterPadding) {
        this.config = c;
        this.positionsAfterPadding = positionsAfterPadding;
        registerChild("word_embeddings", new Embedding(scope, c.vocabSize(), c.hiddenSize()));
        registerChild("position_embeddings", new Embedding(scope, c.maxPositionEmbeddings(), c.hiddenSize()));
        if (c.typeVocabSize() > 0) {
            registerChild("token_type_embeddings", new Embedding(scope, c.typeVocabSize(), c.hiddenSize()));
        }
        registerChild("LayerNorm", new LayerNorm(scope, c.hiddenSize(), c.layerNormEps()));
    }

    /**
     * ids, types: [B][T] -> (B, T, C); types null for all 0, else checked against the table by the caller. The pad id's rows of the word table (and RoBERTa's position table) take no gradient,
     * as transformers' {@code padding_idx}.
     *
     * @throws IllegalArgumentException when the sequence needs more positions than the table has
     */
    Tensor forward(long[][] ids, long[][] types, ForwardContext pass) {
        Embedding words = (Embedding) child("word_embeddings");
        OptionalInt pad = config.padTokenId();
        Tensor x = pad.isPresent() ? words.forward(ids, pad.getAsInt()) : words.forward(ids);
        Embedding positions = (Embedding) child("position_embeddings");
        if (config.typeVocabSize() > 0) {
            // transformers adds the token types first (RobertaEmbeddings, BertEmbeddings): the same sum in float32
            Embedding table = (Embedding) child("token_type_embeddings");
            x = Elementwise.add(x, table.forward(types != null ? types : new long[ids.length][ids[0].length]));
        }
        long[][] positionIds = positionIds(ids);
        x = Elementwise.add(x, positionsAfterPadding ? positions.forward(positionIds, config.padTokenId().getAsInt())
                : positions.forward(positionIds));
        return pass.dropout(layer("LayerNorm").forward(x), config.dropouts().embedding());
    }

    /**
     * Each token's position id: transformers' {@code create_position_ids_from_input_ids} for RoBERTa (the pad id at
     * {@code pad}, the others at {@code pad} plus the count of real tokens up to them), else its index.
     */
    private long[][] positionIds(long[][] ids) {
        int t = ids[0].length;
        long[][] out = new long[ids.length][t];
        long pad = positionsAfterPadding ? config.padTokenId().getAsInt() : -1;
        long last = 0;
        for (int i = 0; i < ids.length; i++) {
            long real = 0;
            for (int j = 0; j < t; j++) {
                boolean padding = ids[i][j] == pad;
                real += padding ? 0 : 1;
                out[i][j] = !positionsAfterPadding ? j : padding ? pad : pad + real;
                last = Math.max(last, out[i][j]);
            }
        }
        if (last >= config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("a row of " + t + " tokens needs position id " + last + ", but "
                    + config.modelType() + "'s config.json has max_position_embeddings " + config.maxPositionEmbeddings()
                    + (positionsAfterPadding ? " (its positions start after pad_token_id "
                    + config.padTokenId().getAsInt() + ")" : "") + ": truncate the inputs to at most "
                    + (config.maxPositionEmbeddings() - pad - 1)
                    + " tokens");
        }
        return out;
    }
}
