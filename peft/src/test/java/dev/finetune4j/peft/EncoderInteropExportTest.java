package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InteropExportTest}'s cases for the encoder classifiers of core's references (RoBERTa, XLM-RoBERTa, DistilBERT):
 * LoRA at PEFT's default targets and on every projection (the head's {@code classifier.dense} left to the saved head,
 * as PEFT leaves a module to save), DoRA, and IA3 at the default targets, each with the head saved as PEFT's SEQ_CLS
 * task saves it ({@code classifier}; DistilBERT's {@code pre_classifier} too, whose name ends in it) and every
 * trainable tensor moved off its initialisation, so that a head loaded wrongly would show.
 * {@code python3 tools/reference/check_interop.py peft/target/interop OUT.json} loads each base with
 * {@code AutoModelForSequenceClassification} and each adapter in PEFT; the results are recorded in peft/INTEROP.md.
 */
class EncoderInteropExportTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("roberta_cls-lora-default", "roberta_cls", lora().build()),
                Arguments.of("roberta_cls-dora", "roberta_cls", lora().targetModules("query", "value").useDora(true)
                        .build()),
                Arguments.of("roberta_cls-ia3-default", "roberta_cls", new Ia3Config(null, null, null, false, false, null, null)),
                Arguments.of("xlm_roberta_cls-lora-all", "xlm_roberta_cls", lora().targetModules("query", "key", "value",
                        "dense").build()),
                Arguments.of("distilbert_cls-lora-default", "distilbert_cls", lora().build()),
                Arguments.of("distilbert_cls-lora-all", "distilbert_cls", lora().targetModules("q_lin", "k_lin", "v_lin",
                        "out_lin", "lin1", "lin2").build()),
                Arguments.of("distilbert_cls-ia3-default", "distilbert_cls", new Ia3Config(null, null, null, false, false, null,
                        null)));
    }

    private static LoraConfig.Builder lora() {
        return LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exportAdapterWithOurLogits(String name, String reference, PeftConfig config) throws Exception {
        Path out = Path.of("target", "interop", name).toAbsolutePath();
        Path folder = ServeFixtures.model("references/" + reference);
        long[][] ids = Fixtures.ids(folder, "input_ids");
        long[][] mask = Fixtures.ids(folder, "attention_mask");
        try (var base = AutoModel.loadSequenceClassifier(folder)) {
            PeftClassifier model = Peft.wrap(base, config);
            SplittableRandom random = new SplittableRandom(2026);
            for (Tensor t : model.trainableParameters().values()) {
                float[] v = t.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] += (float) (0.1 * StateDicts.gaussian(random));
                }
                t.copyFrom(v);
            }
            model.save(out);
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                Map<String, Tensor> expected = new LinkedHashMap<>();
                expected.put("input_ids", InteropExportTest.longs(ids));
                expected.put("attention_mask", InteropExportTest.longs(mask));
                expected.put("logits", model.forward(ids, null));
                expected.put("logits_masked", model.forward(ids, mask));
                SafetensorsWriter.write(out.resolve("expected.safetensors"), expected, Map.of("producer", "finetune4j"));
            }
            Files.writeString(out.resolve("case.json"), "{\"base\": \"core/src/test/resources/references/" + reference + "\"}");
        }
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("adapter_config.json")));
    }
}
