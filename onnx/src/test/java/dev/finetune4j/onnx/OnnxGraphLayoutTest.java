package dev.finetune4j.onnx;

import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.NodeProto;
import dev.finetune4j.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorShapeProto;
import dev.finetune4j.onnx.proto.OnnxProto.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the export folder holds: ONNX Runtime GenAI's input/output layout, standard ops, float32 external weights. */
class OnnxGraphLayoutTest {

    @Test
    void inputsAndOutputsFollowTheLayoutOfOnnxRuntimeGenAi(@TempDir Path tmp) throws Exception {
        ModelProto model;
        try (LanguageModel lm = AutoModel.loadCausalLM(OnnxExporterTest.resource("hf-tiny/llama"))) {
            model = read(OnnxExporter.export(lm, tmp.resolve("onnx")));
        }
        Map<String, String> inputs = shapes(model.getGraph().getInputList());
        Map<String, String> outputs = shapes(model.getGraph().getOutputList());
        assertEquals(List.of("input_ids", "attention_mask", "position_ids", "past_key_values.0.key",
                "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"), List.copyOf(inputs.keySet()));
        assertEquals("int64 [batch_size, sequence_length]", inputs.get("input_ids"));
        assertEquals("int64 [batch_size, total_sequence_length]", inputs.get("attention_mask"));
        assertEquals("int64 [batch_size, sequence_length]", inputs.get("position_ids"));
        assertEquals("float [batch_size, 2, past_sequence_length, 16]", inputs.get("past_key_values.1.value"));
        assertEquals(List.of("logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"),
                List.copyOf(outputs.keySet()));
        assertEquals("float [batch_size, sequence_length, 256]", outputs.get("logits"));
        assertEquals("float [batch_size, 2, total_sequence_length, 16]", outputs.get("present.0.key"));

        assertEquals(1, model.getOpsetImportCount());
        assertEquals("", model.getOpsetImport(0).getDomain());
        assertEquals(OnnxExporter.OPSET, model.getOpsetImport(0).getVersion());
        for (NodeProto node : model.getGraph().getNodeList()) {
            assertEquals("", node.getDomain(), node.getName() + " is a standard op");
        }
    }

    @Test
    void bf16WeightsAreWrittenAsFloat32ExternalData(@TempDir Path tmp) throws Exception {
        Path bf16 = toBf16(OnnxExporterTest.resource("hf-tiny/qwen2"), tmp.resolve("bf16"));
        Path folder = tmp.resolve("onnx");
        try (LanguageModel lm = AutoModel.loadCausalLM(bf16)) {
            assertEquals(DType.BF16, lm.stateDict().get("model.layers.0.mlp.up_proj.weight").dtype(), "the checkpoint's dtype is kept");
            OnnxExporterTest.Expected expected = OnnxExporterTest.Expected.of(lm);
            Path file = OnnxExporter.export(lm, folder);
            OnnxExporterTest.assertOnnxRuntimeMatches(file, lm.spec(), expected, "hf-tiny/qwen2 in bf16");

            ModelProto model = read(file);
            long dataSize = Files.size(folder.resolve(OnnxExporter.DATA_FILE));
            long external = 0;
            for (TensorProto t : model.getGraph().getInitializerList()) {
                if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                    continue; // a small constant of the graph (shapes, axes, epsilons, rotary frequencies)
                }
                assertEquals(TensorProto.DataType.FLOAT_VALUE, t.getDataType(), t.getName());
                external++;
                Map<String, String> where = t.getExternalDataList().stream()
                        .collect(Collectors.toMap(StringStringEntryProto::getKey, StringStringEntryProto::getValue));
                long numel = t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
                assertEquals(OnnxExporter.DATA_FILE, where.get("location"));
                assertEquals(4 * numel, Long.parseLong(where.get("length")), t.getName());
                assertTrue(Long.parseLong(where.get("offset")) + 4 * numel <= dataSize, t.getName());
            }
            assertEquals(lm.stateDict().size(), external, "every weight of the model, once");
        }
    }

    /**
     * A model loaded in NF4 (QLoRA's base) exports its dequantized weights as float32: ONNX Runtime gives the NF4
     * model's own logits and greedy tokens, which differ from the float checkpoint's.
     */
    @Test
    void nf4WeightsAreWrittenDequantized(@TempDir Path tmp) throws Exception {
        Path folder = OnnxExporterTest.resource("hf-tiny/qwen2");
        try (LanguageModel full = AutoModel.loadCausalLM(folder);
             LanguageModel nf4 = AutoModel.loadCausalLM(folder,
                     LoadOptions.builder().quantization(Quantization.NF4).build())) {
            assertEquals(DType.NF4, nf4.stateDict().get("model.layers.0.mlp.up_proj.weight").dtype());
            OnnxExporterTest.Expected expected = OnnxExporterTest.Expected.of(nf4);
            assertTrue(LogitsDifference.of(OnnxExporterTest.Expected.of(full).logits(), expected.logits(),
                    OnnxFamiliesTest.ones(2, 10)).value() > 100 * OnnxExporterTest.TOLERANCE, "NF4 moves the logits");
            OnnxExporterTest.assertOnnxRuntimeMatches(OnnxExporter.export(nf4, tmp.resolve("onnx")), nf4.spec(),
                    expected, "hf-tiny/qwen2 in NF4");
        }
    }

    /** gpt-oss in NF4: its stacked experts are quantized whole and written one dequantized expert at a time. */
    @Test
    void nf4StackedExpertsAreWrittenDequantized(@TempDir Path tmp) throws Exception {
        Path folder = ReferenceFolders.copy("references/gpt_oss", List.of("config.json", "model.safetensors"),
                tmp.resolve("gpt_oss"));
        try (LanguageModel nf4 = AutoModel.loadCausalLM(folder,
                LoadOptions.builder().quantization(Quantization.NF4).build())) {
            assertEquals(DType.NF4, nf4.stateDict().get("model.layers.0.mlp.experts.gate_up_proj").dtype());
            OnnxExporterTest.assertOnnxRuntimeMatches(OnnxExporter.export(nf4, tmp.resolve("onnx")), nf4.spec(),
                    OnnxExporterTest.Expected.of(nf4), "gpt_oss in NF4");
        }
    }

    /** A mixture of experts in bf16 (Mixtral's reference, converted) exports as float32 and runs as the model does. */
    @Test
    void aMixtureInBf16IsWrittenAsFloat32(@TempDir Path tmp) throws Exception {
        Path mixtral = ReferenceFolders.copy("references/mixtral", List.of("config.json", "model.safetensors"),
                tmp.resolve("mixtral"));
        try (LanguageModel lm = AutoModel.loadCausalLM(toBf16(mixtral, tmp.resolve("bf16")))) {
            assertEquals(DType.BF16, lm.stateDict().get("model.layers.0.block_sparse_moe.experts.0.w1.weight").dtype());
            OnnxExporterTest.assertOnnxRuntimeMatches(OnnxExporter.export(lm, tmp.resolve("onnx")), lm.spec(),
                    OnnxExporterTest.Expected.of(lm), "mixtral in bf16");
        }
    }

    private static ModelProto read(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        }
    }

    /** name -> "elemtype [dim, ...]" with symbolic dimensions by name. */
    private static Map<String, String> shapes(List<ValueInfoProto> values) {
        Map<String, String> out = new LinkedHashMap<>();
        for (ValueInfoProto v : values) {
            var tensor = v.getType().getTensorType();
            String dims = tensor.getShape().getDimList().stream()
                    .map(d -> d.getValueCase() == TensorShapeProto.Dimension.ValueCase.DIM_PARAM ? d.getDimParam() : Long.toString(d.getDimValue()))
                    .collect(Collectors.joining(", ", "[", "]"));
            out.put(v.getName(), TensorProto.DataType.forNumber(tensor.getElemType()).name().toLowerCase() + " " + dims);
        }
        return out;
    }

    /** A copy of model folder {@code from} with every weight in bf16. */
    static Path toBf16(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(from)) {
            Map<String, Tensor> weights = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                weights.put(name, ckpt.tensor(name));
            }
            writeBf16(weights, to.resolve("model.safetensors"));
        }
        return to;
    }

    /** Writes {@code weights}, each converted to bf16, as the safetensors file {@code file}. */
    static void writeBf16(Map<String, Tensor> weights, Path file) throws Exception {
        try (var scope = TensorScope.detached()) {
            Map<String, Tensor> converted = new LinkedHashMap<>();
            weights.forEach((name, t) -> converted.put(name, t.convertTo(DType.BF16, scope)));
            SafetensorsWriter.write(file, converted, Map.of("format", "pt"));
        }
    }
}
