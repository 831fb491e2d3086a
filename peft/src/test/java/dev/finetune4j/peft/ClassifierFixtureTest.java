package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The BERT sequence classifier with PEFT's LoRA adapter (task SEQ_CLS, classifier in modules_to_save). */
class ClassifierFixtureTest {

    @Test
    void loraLogitsMatchPeft(@TempDir Path tmp) {
        Map<String, float[]> ref = Fixtures.reference("bert_cls");
        long[][] ids = Fixtures.ids("bert_cls", "input_ids");
        long[][] mask = Fixtures.ids("bert_cls", "attention_mask");
        try (var base = AutoModel.loadSequenceClassifier(Fixtures.dir("bert_cls"))) {
            PeftClassifier m = Peft.load(base, Fixtures.dir("bert_cls").resolve("lora"));
            float[] actual = flat(m.logits(ids, mask));
            StringBuilder where = new StringBuilder();
            double d = Fixtures.maxAbs(actual, ref.get("lora_logits"), where);
            System.out.println("bert_cls lora_logits: max abs diff " + where);
            assertTrue(d <= 1e-4, "bert_cls lora_logits: " + where);
            try (var off = m.disableAdapter()) {
                where.setLength(0);
                d = Fixtures.maxAbs(flat(m.logits(ids, mask)), ref.get("logits"), where);
                assertTrue(d <= 1e-4, "bert_cls with the adapter disabled vs base logits: " + where);
            }
            m.save(tmp.resolve("a"));
            PeftClassifier again = Peft.load(AutoModel.loadSequenceClassifier(Fixtures.dir("bert_cls")), tmp.resolve("a"));
            assertArrayEquals(actual, flat(again.logits(ids, mask)));
            again.close();
            m.mergeAndUnload();
            where.setLength(0);
            d = Fixtures.maxAbs(flat(base.logits(ids, mask)), ref.get("lora_logits"), where);
            assertTrue(d <= 1e-4, "bert_cls merged: " + where);
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
