package dev.finetune4j.peft.qlora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code Peft.wrap} on a base loaded with NF4 quantization is QLoRA: the same logits and gradients as QloraInjector. */
class QloraOnLoadTest {
    private static final long[][] IDS = {{1, 5, 9, 200, 3, 77, 12, 8}, {4, 4, 250, 31, 0, 9, 66, 2}};

    @Test
    void loadingWithNf4ThenWrappingEqualsQuantizingAfterLoading() throws Exception {
        Path dir = Path.of(QloraOnLoadTest.class.getResource("/hf-tiny/llama").toURI());
        LoraConfig cfg = LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
                .targetModules("q_proj", "v_proj", "down_proj").build();
        LoadOptions nf4 = LoadOptions.builder().device(Device.cpu()).quantization(Quantization.NF4).build();
        try (LanguageModel onLoad = AutoModel.loadCausalLM(dir, nf4); LanguageModel later = AutoModel.loadCausalLM(dir)) {
            assertEquals(0, QloraInjector.quantize(onLoad).size(), "already quantized as it was read");
            PeftModel a = Peft.wrap(onLoad, cfg, 3);
            QloraInjector.quantize(later);
            PeftModel b = Peft.wrap(later, cfg, 3);
            assertEquals(QloraInjector.bytesPerParameter(later), QloraInjector.bytesPerParameter(onLoad));
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(b.logits(IDS, null)[i][7], a.logits(IDS, null)[i][7]);
            }
            assertArrayEquals(gradients(b), gradients(a));
        }
    }

    private static float[] gradients(PeftModel m) {
        try (var scope = TensorScope.open()) {
            Autograd.backward(Reductions.mean(m.forward(ModelInput.of(IDS, null))));
        }
        return m.trainableParameters().values().stream().map(t -> t.grad().toFloatArray())
                .reduce(new float[0], (x, y) -> {
                    float[] out = java.util.Arrays.copyOf(x, x.length + y.length);
                    System.arraycopy(y, 0, out, x.length, y.length);
                    return out;
                });
    }
}
