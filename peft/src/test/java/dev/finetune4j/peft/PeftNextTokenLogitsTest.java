package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@link PeftModel#nextTokenLogits} (what generation reads) against the last position of {@link PeftModel#forward}:
 * equal bit for bit with LoRA, with LoRA on the output head itself, and with the virtual positions of prompt and
 * prefix tuning.
 */
class PeftNextTokenLogitsTest {
    private static final long[][] IDS = {{5, 17, 33, 2, 90, 41, 7}, {9, 3, 77, 120, 8, 55, 31}};

    enum Method {
        LORA(b -> Peft.wrap(b, lora("q_proj", "v_proj"))),
        LORA_ON_LM_HEAD(b -> Peft.wrap(b, lora("q_proj", "lm_head"))),
        PROMPT(b -> Peft.wrap(b, PromptTuningConfig.of(3))),
        PREFIX(b -> Peft.wrap(b, PrefixTuningConfig.of(4)));

        final Function<LanguageModel, PeftModel> wrap;

        Method(Function<LanguageModel, PeftModel> wrap) {
            this.wrap = wrap;
        }

        private static LoraConfig lora(String... targets) {
            // B random too (init_lora_weights false), so the adapter changes the logits
            return LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets).initLoraWeights(LoraInit.RANDOM).build();
        }
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void theLastPositionsLogitsEqualTheFullForwards(Method method) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"));
             var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            PeftModel model = method.wrap.apply(base);
            ModelInput input = ModelInput.of(IDS, null);
            Tensor all = model.forward(input);
            int last = IDS[0].length - 1;
            assertArrayEquals(all.slice(1, last, last + 1).toFloatArray(), model.nextTokenLogits(input).toFloatArray(),
                    method.name());
        }
    }
}
