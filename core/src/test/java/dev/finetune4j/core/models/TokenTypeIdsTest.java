package dev.finetune4j.core.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token type ids at each classifier: BERT's table has type_vocab_size rows (the pair reference's logits are checked in
 * EncoderClassifierTest), RoBERTa's one, DistilBERT and the decoders none; ids out of range are refused naming the
 * row, the column and the limit, and all-0 ids score as no ids.
 */
class TokenTypeIdsTest {

    @ParameterizedTest
    @CsvSource({"bert_pair_cls, 2, 2, type_vocab_size 2", "roberta_cls, 1, 1, type_vocab_size 1",
            "xlm_roberta_cls, 1, 1, type_vocab_size 1", "distilbert_cls, 0, 1, distilbert has no token type embeddings",
            "qwen2_cls, 0, 1, qwen2 has no token type embeddings"})
    void typeIdsOutOfTheTableAreRefusedWhereTheyAre(String name, int rows, long bad, String why) throws Exception {
        ReferenceData ref = ReferenceData.load("references/" + name + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/" + name))) {
            assertEquals(rows, clf.typeVocabSize(), name + " type_vocab_size");
            long[][] zeros = new long[ids.length][ids[0].length];
            assertArrayEquals(flat(clf.logits(ids, mask)), flat(clf.logits(ids, mask, zeros)), name + ": all 0 is no types");
            long[][] types = new long[ids.length][ids[0].length];
            types[1][4] = bad;
            var e = assertThrows(IllegalArgumentException.class, () -> clf.logits(ids, mask, types));
            assertTrue(e.getMessage().contains("token type id " + bad + " at row 1, column 4")
                    && e.getMessage().contains(why), e.getMessage());
            types[1][4] = -1;
            assertThrows(IllegalArgumentException.class, () -> clf.logits(ids, mask, types), name + ": a negative id");
        }
    }

    @Test
    void typeIdsOfAnotherShapeThanTheIdsAreRefused() throws Exception {
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/bert_pair_cls"))) {
            long[][] ids = {{2, 7, 3, 9, 3}, {2, 8, 3, 9, 3}};
            var rows = assertThrows(IllegalArgumentException.class, () -> clf.logits(ids, null, new long[1][5]));
            assertTrue(rows.getMessage().contains("1 rows of token type ids for 2 rows"), rows.getMessage());
            var row = assertThrows(IllegalArgumentException.class,
                    () -> clf.logits(ids, null, new long[][]{{0, 0, 0, 1, 1}, {0, 0, 0, 1}}));
            assertTrue(row.getMessage().contains("row 1 has 4 token type ids for 5 input ids"), row.getMessage());
        }
    }

    private static float[] flat(float[][] x) {
        float[] out = new float[x.length * x[0].length];
        for (int i = 0; i < x.length; i++) {
            System.arraycopy(x[i], 0, out, i * x[0].length, x[0].length);
        }
        return out;
    }
}
