package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The newer decoder families as sequence classifiers against transformers' own *ForSequenceClassification
 * (tools/reference/decoder_classifiers.py, references/classifiers): OLMo 2 and 3, DeepSeek-V2 and V3 (latent
 * attention and mixtures), Qwen3.5 (gated DeltaNet layers), Qwen3-Next, Ministral (sliding layers), Ministral 3
 * (Llama 4's query temperature) and Mistral 4 (latent attention under that temperature, a grouped softmax router, fused
 * experts), each over its causal reference folder
 * with 3 labels, pad id 0 and the reference's score head, on a full row and a right-padded one (pooled at its last
 * real token; the linear-attention layers zero the padding). Logits and the single-label loss must match.
 */
class DecoderClassifierFamiliesTest {

    @ParameterizedTest
    @ValueSource(strings = {"olmo2", "olmo3", "deepseek_v2", "deepseek_v3", "qwen3_5", "qwen3_next", "ministral",
            "ministral3", "mistral4"})
    void logitsAndLossMatchTransformers(String family) throws Exception {
        ReferenceData ref = ReferenceData.load("references/classifiers/" + family + ".safetensors");
        Path dir = ReferenceData.resource("references/" + family);
        ClassifierConfig labels = ClassifierConfig.fromJson(AutoModel.readConfig(dir))
                .withLabels(List.of("a", "b", "c")).withPadTokenId(0);
        try (SequenceClassifierModule clf = AutoModel.loadSequenceClassifier(dir, Device.cpu(), labels);
             var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            clf.stateDict().get("score.weight").copyFrom(ref.floats.get("score.weight"));
            var logits = clf.forward(ref.ids("input_ids"), ref.ids("attention_mask"));
            ReferenceGradients.assertClose(ref.floats.get("logits"), logits.toFloatArray(), 1e-5, family + " logits");
            long[] y = ref.longs.get("labels");
            float loss = CrossEntropy.loss(logits, new int[]{(int) y[0], (int) y[1]}).toFloatArray()[0];
            assertEquals(ref.floats.get("loss")[0], loss, 1e-5, family + " loss");
        }
    }
}
