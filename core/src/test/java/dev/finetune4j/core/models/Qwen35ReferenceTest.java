package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import static dev.finetune4j.core.models.HfReferenceModelsTest.flatten;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Qwen3.5's language model against references/qwen3_5 (tools/reference/families_torch.py: transformers 5.17's
 * Qwen3_5ForCausalLM re-implemented in PyTorch, its gated delta rule checked against transformers' chunked form):
 * the gradients of every linear-attention weight through the hand-written backward, a 150-token input whose states
 * the backward recomputes across three kept ones, and the vision-language folders (references/qwen3_5_vl and
 * qwen3_5_moe_vl, the same weights under model.language_model with a vision tower and multi-token-prediction layers
 * beside them) loading to the same models. FamilyReferencesTest checks the logits, the masked batch, the loss and greedy generation.
 */
class Qwen35ReferenceTest {
    private static final String DIR = "references/qwen3_5";

    /**
     * Within 2e-4 of each gradient's largest value: the filters' gradient sums each channel over the batch's tokens
     * after the backward of 16 recurrent steps, whose float32 rounding on both sides reaches 1.1e-4 (finite
     * differences agree with ours to their own precision, 1e-3).
     */
    @Test
    void gradientsThroughTheGatedDeltaNetMatchTorch() throws Exception {
        ReferenceGradients.assertMatch("qwen3_5", Device.cpu(), 2e-4);
    }

    /** 150 tokens: three kept states in the forward, two recomputed stretches in the backward. */
    @Test
    void aLongInputsLogitsAndGradientsMatchTorch() throws Exception {
        assertLongInputMatchesTorch(DIR, 4);
    }

    /**
     * The folder's {@code long_input_ids}: its logits against {@code long_logits} and the gradients of its next-token
     * loss against each {@code grad_long.NAME}.
     *
     * @param dir the reference folder
     * @param gradients how many gradients the folder holds
     */
    static void assertLongInputMatchesTorch(String dir, int gradients) throws Exception {
        ReferenceData ref = ReferenceData.load(dir + "/reference.safetensors");
        long[][] ids = ref.ids("long_input_ids");
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir), ReferenceData.f32(Device.cpu()));
             var scope = TensorScope.open()) {
            Map<String, Tensor> weights = lm.stateDict();
            ref.floats.keySet().stream().filter(k -> k.startsWith("grad_long."))
                    .forEach(k -> weights.get(k.substring("grad_long.".length())).requiresGrad(true));
            Tensor logits = lm.forward(ModelInput.of(ids, null));
            HfReferenceModelsTest.assertClose(ref.floats.get("long_logits"), logits.toFloatArray(), null, "long_logits");
            Autograd.backward(ReferenceGradients.nextTokenLoss(lm, ids));
            int checked = 0;
            for (var e : ref.floats.entrySet()) {
                if (e.getKey().startsWith("grad_long.")) {
                    float[] ours = weights.get(e.getKey().substring("grad_long.".length())).grad().toFloatArray();
                    HfReferenceModelsTest.assertClose(e.getValue(), ours, null, e.getKey());
                    checked++;
                }
            }
            assertEquals(gradients, checked, "gradients on the long input");
        }
    }

    /**
     * The published checkpoints' layout: the text model under model.language_model, beside a vision tower and mtp
     * layers, loads to the text model's logits; saved again, it is the text model transformers'
     * AutoModelForCausalLM makes of it (qwen3_5_text, weights named model.*), and loads back to the same logits.
     */
    @ParameterizedTest
    @CsvSource({"qwen3_5,qwen3_5_text", "qwen3_5_moe,qwen3_5_moe_text"})
    void theVisionLanguageFolderLoadsAndSavesItsLanguageModel(String family, String textType, @TempDir Path out)
            throws Exception {
        ReferenceData ref = ReferenceData.load("references/" + family + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        try (LanguageModel lm = AutoModel.loadCausalLM(visionLanguageTwin(family, out.resolve("twin")))) {
            assertEquals(textType, lm.spec().modelType());
            HfReferenceModelsTest.assertClose(ref.floats.get("logits"), flatten(lm.logits(ids, null)), null, family + "_vl logits");
            HfModelFolder.save(lm, out.resolve("saved"));
        }
        assertEquals(textType, AutoModel.readConfig(out.resolve("saved")).path("model_type").asText());
        try (LanguageModel saved = AutoModel.loadCausalLM(out.resolve("saved"))) {
            HfReferenceModelsTest.assertClose(ref.floats.get("logits"), flatten(saved.logits(ids, null)), null, "saved logits");
        }
    }

    /** The small tensors of the vision tower and the mtp layers a loader of the language model must leave out. */
    private static final Map<String, long[]> VISION_AND_MTP = Map.of(
            "model.visual.patch_embed.proj.weight", new long[]{16, 3, 2, 2, 2},
            "model.visual.blocks.0.attn.qkv.weight", new long[]{48, 16},
            "model.visual.merger.linear_fc1.weight", new long[]{64, 64},
            "mtp.fc.weight", new long[]{64, 128},
            "mtp.norm.weight", new long[]{64});

    /**
     * references/FAMILY_vl as tools/reference/qwen3_5_torch.py describes it: its committed config.json (the
     * ...ForConditionalGeneration config with FAMILY's as text_config) beside FAMILY's tensors renamed model.* ->
     * model.language_model.* (lm_head as it is), plus the vision tower's and mtp tensors the checkpoints carry (the
     * mixture's mtp layer with an expert of its own). Derived here rather than stored: the weights are FAMILY's.
     */
    private static Path visionLanguageTwin(String family, Path into) throws Exception {
        Files.createDirectories(into);
        Files.copy(ReferenceData.resource("references/" + family + "_vl/config.json"), into.resolve("config.json"));
        try (var scope = TensorScope.open();
             SafetensorsFile text = SafetensorsFile.open(ReferenceData.resource("references/" + family
                     + "/model.safetensors"))) {
            Map<String, Tensor> tensors = new TreeMap<>();
            for (String name : text.names()) {
                String renamed = name.startsWith("model.") ? "model.language_model." + name.substring("model.".length())
                        : name;
                tensors.put(renamed, text.tensor(name));
            }
            Map<String, long[]> extra = new TreeMap<>(VISION_AND_MTP);
            if (family.endsWith("_moe")) {
                extra.put("mtp.layers.0.mlp.experts.0.down_proj.weight", new long[]{64, 32});
            }
            extra.forEach((name, dims) -> tensors.put(name, Tensor.zeros(Shape.of(dims))));
            SafetensorsWriter.write(into.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        return into;
    }

}
