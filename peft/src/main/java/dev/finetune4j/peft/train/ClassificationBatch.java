package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * Classification examples right-padded to the longest ({@link PaddedBatch}) with their token type ids, as a
 * classifier reads them: what training and evaluation batch.
 *
 * @param padded       the ids, attention mask and real token count
 * @param tokenTypeIds [B][T] each token's type (padding 0, as transformers' tokenizers pad it), or null for all 0
 */
public record ClassificationBatch(PaddedBatch padded, long[][] tokenTypeIds) {

    /**
     * The batch of {@code rows} for {@code model}. The examples' type ids go with them only to a model with a
     * token-type table of more than one row (BERT's): RoBERTa and XLM-RoBERTa read a pair from their separators and
     * DistilBERT and the decoders have no types, as transformers' tokenizers of those models return no type ids.
     *
     * @param rows  the examples, at least one
     * @param padId the id padding fills in
     * @param model the classifier the batch is for
     * @return the batch
     */
    public static ClassificationBatch of(List<ClassificationExample> rows, long padId, SequenceClassifier model) {
        PaddedBatch padded = PaddedBatch.of(rows.stream().map(ClassificationExample::inputIds).toList(), padId);
        boolean typed = model.typeVocabSize() > 1 && rows.stream().anyMatch(e -> e.tokenTypeIds() != null);
        if (!typed) {
            return new ClassificationBatch(padded, null);
        }
        int t = padded.inputIds()[0].length;
        long[][] types = new long[rows.size()][];
        for (int i = 0; i < types.length; i++) {
            long[] row = rows.get(i).tokenTypeIds();
            types[i] = row == null ? new long[t] : Arrays.copyOf(row, t);
        }
        return new ClassificationBatch(padded, types);
    }

    /**
     * The model's scores of this batch with autograd.
     *
     * @param model the classifier
     * @return (B, labels)
     */
    public Tensor forward(SequenceClassifier model) {
        return model.forward(padded.inputIds(), padded.attentionMask(), tokenTypeIds);
    }

    /**
     * The model's scores of this batch, without autograd.
     *
     * @param model the classifier
     * @return {@code [B][labels]}
     */
    public float[][] logits(SequenceClassifier model) {
        return model.logits(padded.inputIds(), padded.attentionMask(), tokenTypeIds);
    }
}
