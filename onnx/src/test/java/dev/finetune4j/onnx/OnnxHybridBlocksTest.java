package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The hybrids whose layers are not one attention and one MLP each: Nemotron-H's one block per layer (a Mamba-2 mixer,
 * attention, an MLP or a mixture of experts, each after its own norm) and Falcon-H1's attention and Mamba-2 side by
 * side with its muP multipliers. Each exported graph, run in ONNX Runtime with its states fed back, gives transformers'
 * logits (core's references, tools/reference/transformers_families.py) as {@link OnnxRecurrentTest} checks them; a
 * block pattern or a multiplier changed in the model moves those logits past the tolerance while the export still
 * follows finetune4j, so the reference checks would catch a graph that lost either.
 */
class OnnxHybridBlocksTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"nemotron_h", "nemotron_h_moe", "falcon_h1", "falcon_h1_no_rms_norm"})
    void onnxRuntimeComputesTheReferenceLogits(String family, @TempDir Path tmp) throws Exception {
        OnnxFamiliesTest.assertExportFollowsTheReference(family, tmp, (model, onnx) -> { });
    }

    /**
     * Nemotron-H's pasts are its blocks': the Mamba-2 blocks (layers 0 and 3 of "M-*M-") carry a convolution and a
     * recurrent state, the attention block (layer 2) keys and values, the MLP blocks nothing; Falcon-H1's every layer
     * carries all four.
     */
    @Test
    void eachBlockDeclaresThePastsOfItsOwnKind(@TempDir Path tmp) throws Exception {
        assertEquals(List.of("past_key_values.0.conv_state", "past_key_values.0.recurrent_state",
                "past_key_values.2.key", "past_key_values.2.value", "past_key_values.3.conv_state",
                "past_key_values.3.recurrent_state"), pasts("nemotron_h", tmp));
        assertEquals(List.of("past_key_values.0.conv_state", "past_key_values.0.key", "past_key_values.0.recurrent_state",
                "past_key_values.0.value", "past_key_values.1.conv_state", "past_key_values.1.key",
                "past_key_values.1.recurrent_state", "past_key_values.1.value"), pasts("falcon_h1", tmp));
    }

    /**
     * Each detail set otherwise in config.json (Nemotron-H's time-step floor, squared ReLU, routed scaling, groups of
     * experts; each of Falcon-H1's multipliers set to 1) gives logits that the export of the changed model follows and that miss the
     * reference by more than 100 times the tolerance.
     */
    @ParameterizedTest(name = "{0} with {1} = {2}")
    @CsvSource(delimiter = '|', value = {
            "nemotron_h | time_step_min | 0",
            "nemotron_h | mlp_hidden_act | \"relu\"",
            "nemotron_h_moe | routed_scaling_factor | 1",
            "nemotron_h_moe | n_group | 1",
            "falcon_h1 | key_multiplier | 1",
            "falcon_h1 | attention_in_multiplier | 1",
            "falcon_h1 | attention_out_multiplier | 1",
            "falcon_h1 | ssm_out_multiplier | 1",
            "falcon_h1 | ssm_in_multiplier | 1",
            "falcon_h1 | ssm_multipliers | [1, 1, 1, 1, 1]",
            "falcon_h1 | mlp_multipliers | [1, 1]",
            "falcon_h1 | embedding_multiplier | 1",
            "falcon_h1 | lm_head_multiplier | 1"})
    void aChangedDetailMissesTheReferenceAndTheExportFollowsIt(String family, String key, String value,
                                                              @TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        OnnxMixtureOfExpertsTest.rewriteConfig(fixture.folder(), json -> json.set(key, parse(value)));
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, family + " with " + key + " = " + value, tmp);
    }

    /**
     * Nemotron-H's "M-*M-" with its MLP and attention blocks swapped ("M*-M-": layer 1's weights and kind moved to layer
     * 2 and back) is another model, whose logits the export follows and the reference's miss.
     */
    @Test
    void aShiftedBlockPatternMissesTheReferenceAndTheExportFollowsIt(@TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/nemotron_h", tmp.resolve("nemotron_h"));
        OnnxMixtureOfExpertsTest.rewriteConfig(fixture.folder(), json -> json.set("layers_block_type",
                parse("[\"linear_attention\", \"full_attention\", \"mlp\", \"linear_attention\", \"mlp\"]")));
        swapLayers(fixture.folder(), 1, 2);
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, "nemotron_h as M*-M-", tmp);
    }

    /** The past inputs the export of core's fixture {@code family} declares, sorted. */
    private static List<String> pasts(String family, Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        Path onnx;
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder())) {
            onnx = OnnxExporter.export(model, tmp.resolve(family + "-onnx"));
        }
        ModelProto proto;
        try (InputStream in = Files.newInputStream(onnx)) {
            proto = ModelProto.parseFrom(in);
        }
        return proto.getGraph().getInputList().stream().map(ValueInfoProto::getName)
                .filter(name -> name.startsWith("past")).sorted().toList();
    }

    /** Renames the checkpoint's {@code backbone.layers.A.*} tensors to layer B and B's to A. */
    private static void swapLayers(Path folder, int a, int b) throws Exception {
        Path file = folder.resolve("model.safetensors");
        Path changed = folder.resolve("changed.safetensors");
        String first = "backbone.layers." + a + ".";
        String second = "backbone.layers." + b + ".";
        try (SafetensorsFile f = SafetensorsFile.open(file); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : f.names()) {
                String renamed = name.startsWith(first) ? second + name.substring(first.length())
                        : name.startsWith(second) ? first + name.substring(second.length()) : name;
                tensors.put(renamed, f.tensor(name));
            }
            SafetensorsWriter.write(changed, tensors, Map.of("format", "pt"));
        }
        Files.move(changed, file, StandardCopyOption.REPLACE_EXISTING);
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + json, e);
        }
    }
}
