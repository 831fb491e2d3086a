package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Qwen3-VL's language model, loaded from its vision-language folder (core's references/qwen3_vl, named as on
 * Qwen3VLForConditionalGeneration): LoRA at the default targets adapts the language model's q_proj and v_proj, and
 * it, DoRA, QLoRA and bottleneck adapters (whose sites this library names for qwen3_vl) train; the loss falls and the
 * gradients agree with finite differences.
 */
class Qwen3VlTrainTest {

    @Test
    void loraAtTheDefaultTargetsTrainsTheLanguageModel() {
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model("references/qwen3_vl"))) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0).build());
            List<String> adapted = model.trainableParameters().keySet().stream().filter(n -> n.contains("lora_A"))
                    .map(n -> n.substring(0, n.indexOf(".lora_A"))).toList();
            List<String> expected = IntStream.range(0, 3).boxed().flatMap(layer -> Stream.of("q_proj", "v_proj")
                    .map(p -> "base_model.model.model.language_model.layers." + layer + ".self_attn." + p)).toList();
            assertEquals(expected, adapted.stream().sorted().toList());
            NewFamiliesTrainTest.assertTrainsAndMatchesFiniteDifferences("qwen3_vl LORA", model, 1e-2, false);
        }
    }

    @ParameterizedTest
    @EnumSource(value = EveryMethodTrainsTest.Method.class, names = {"DORA", "QLORA", "HOULSBY"})
    void otherMethodsTrainTheLanguageModel(EveryMethodTrainsTest.Method method) {
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model("references/qwen3_vl"))) {
            PeftModel model = method.wrap.apply(base);
            NewFamiliesTrainTest.assertTrainsAndMatchesFiniteDifferences("qwen3_vl " + method, model, 1e-2,
                    method == EveryMethodTrainsTest.Method.DORA);
        }
    }
}
