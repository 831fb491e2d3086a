package dev.finetune4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.onnx.OnnxExportOptions.WeightFormat;
import dev.finetune4j.onnx.proto.OnnxProto.AttributeProto;
import dev.finetune4j.onnx.proto.OnnxProto.GraphProto;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.NodeProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exports with int8 and int4 linear weights: ONNX Runtime computes what finetune4j computes with the same weights
 * rounded to their blocks (rounded here by a plain loop over the checkpoint's own layout, not the exporter's code),
 * the data file holds the codes and scales' bytes, the graph multiplies by DequantizeLinear in blocks along the input
 * axis at opset 21, and a block computed by hand checks the codes, their packing and the scale.
 */
class OnnxQuantizedExportTest {
    /** Below every fixture's vocabulary (128 tokens at least). */
    private static final long[][] IDS = {{5, 17, 3, 9, 12, 40, 2, 7, 100, 31}, {8, 8, 1, 120, 77, 3, 14, 6, 2, 9}};
    /**
     * The session option that says what ONNX Runtime's MatMulNBits, fused from int4 DequantizeLinear and MatMul, computes
     * in: 4 by default (the activations rounded to int8 per block), 1 float32.
     */
    static final String FUSED_ACCURACY = "session.qdq_matmulnbits_accuracy_level";
    /** The names of nn.Linear weights (out, in) that a quantized export quantizes. */
    private static final Pattern LINEAR = Pattern.compile("(_proj|_proj_with_mqa|\\.w[123]|_linear)\\.weight$");
    /** Where the second call on the first call's presents starts. */
    private static final int SPLIT = 6;
    /** Row 1 is left-padded. */
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1, 1, 1, 1, 1}};

    /**
     * 32 values of one int4 block: the largest |value| 3.5 makes the scale 0.5, so each code is value / 0.5 rounded
     * half to even (0.25 / 0.5 = 0.5 -> 0, 0.75 / 0.5 = 1.5 -> 2, 1.25 / 0.5 = 2.5 -> 2, -0.75 / 0.5 -> -2).
     */
    @Test
    void anInt4BlockComputedByHand() {
        float[] values = {3.5f, -3.5f, 0.25f, 0.75f, 1.25f, -0.75f, 0.24f, -0.26f, 1f, -1f, 2f, -2f, 3f, -3f, 0f, 0.1f,
                2.74f, 2.76f, -2.76f, 1.5f, 0.5f, -0.5f, 3.4f, -1.25f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, -0.01f};
        // codes 7 -7 | 0 2 | 2 -2 | 0 -1 | 2 -2 | 4 -4 | 6 -6 | 0 0 | 5 6 | -6 3 | 1 -1 | 7 -2 | then zeros, two a byte,
        // the first in the low nibble, each a 4-bit two's complement (-1 = 0xF, -2 = 0xE, -4 = 0xC, -6 = 0xA, -7 = 0x9)
        byte[] packed = {(byte) 0x97, 0x20, (byte) 0xE2, (byte) 0xF0, (byte) 0xE2, (byte) 0xC4, (byte) 0xA6, 0x00, 0x65,
                0x3A, (byte) 0xF1, (byte) 0xE7, 0, 0, 0, 0};

        // one column of 32 rows: the block runs down the column, as along a MatMul operand's input axis
        BlockQuantizer.Quantized q = BlockQuantizer.quantizeBlock(values, 32, 1, WeightFormat.INT4);
        assertArrayEquals(new float[]{0.5f}, q.scales());
        assertArrayEquals(packed, q.codes());

        // int8 over the same block: scale 3.5 / 127, 0.25 -> 9.07 -> 9, 1.25 -> 45.36 -> 45
        BlockQuantizer.Quantized int8 = BlockQuantizer.quantizeBlock(values, 32, 1, WeightFormat.INT8);
        assertArrayEquals(new float[]{3.5f / 127}, int8.scales());
        assertEquals(127, int8.codes()[0]);
        assertEquals(-127, int8.codes()[1]);
        assertEquals(9, int8.codes()[2]);
        assertEquals(45, int8.codes()[4]);
    }

    /** Two columns are two blocks with their own scales; an all-zero block has scale 0 and codes 0. */
    @Test
    void eachColumnIsItsOwnBlock() {
        float[] rows = new float[32];
        for (int r = 0; r < 16; r++) {
            rows[2 * r] = r == 3 ? -14f : 1f; // column 0: largest |value| 14, scale 2
        }
        BlockQuantizer.Quantized q = BlockQuantizer.quantizeBlock(rows, 16, 2, WeightFormat.INT4);
        assertArrayEquals(new float[]{2f, 0f}, q.scales());
        // row r's two values share byte r: column 0 in the low nibble (1 / 2 = 0.5 -> 0; -14 / 2 = -7 -> 0x9)
        for (int r = 0; r < 16; r++) {
            assertEquals(r == 3 ? (byte) 0x09 : 0, q.codes()[r], "row " + r);
        }
    }

    /**
     * ONNX Runtime's logits of the quantized export equal finetune4j's for the model whose linear weights were rounded
     * to the same blocks, which differ from the float model's by far more; the data file holds the codes (a byte or
     * half a byte a value) and one float32 scale per block of every quantized matrix, the other weights in float32.
     * Qwen3-MoE's experts are 16 wide, less than a block: their down projections are one shorter block each; 128 on
     * LLaMA's 64-wide inputs likewise, and DeepSeek-V3's 8- and 12-wide latent projections. LFM2 and Granite 4.0 H
     * quantize their recurrent layers' projections too. A second call on the first call's presents gives the same.
     */
    @ParameterizedTest(name = "{0} {1} in blocks of {2}")
    @CsvSource({"hf-tiny/llama, INT8, 32", "hf-tiny/llama, INT4, 32", "hf-tiny/llama, INT4, 128",
            "hf-tiny/gpt2, INT8, 16", "references/qwen3_moe, INT4, 32", "references/gpt_oss, INT4, 32",
            "references/deepseek_v3, INT8, 16", "references/lfm2, INT4, 16", "references/granite4_h, INT4, 16"})
    void onnxRuntimeComputesTheModelWithItsWeightsRoundedToTheBlocks(String fixture, WeightFormat format, int block,
                                                                     @TempDir Path tmp) throws Exception {
        Path folder = copy(fixture, tmp.resolve("model"));
        OnnxExportOptions options = new OnnxExportOptions(format, block);
        Path file;
        float[][][] floatLogits;
        try (LanguageModel model = AutoModel.loadCausalLM(folder)) {
            floatLogits = model.logits(IDS, MASK);
            file = OnnxExporter.export(model, tmp.resolve("onnx"), options);
            // every tensor of these fixtures is below 1 MiB, so none is aligned with padding before it
            assertEquals(expectedDataBytes(model.stateDict(), options), Files.size(tmp.resolve("onnx")
                    .resolve(OnnxExporter.DATA_FILE)), "codes and scales of the linear weights, float32 of the others");
        }
        OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) -> {
            int axis = inputAxis(name, t);
            return axis < 0 ? t : Tensor.of(roundedToBlocks(t.toFloatArray(), t.shape().dims(), axis, format, block),
                    t.shape().dims());
        });
        try (LanguageModel rounded = AutoModel.loadCausalLM(folder);
             OrtDecoder ort = new OrtDecoder(file, Map.of(FUSED_ACCURACY, "1"))) {
            float[][][] expected = rounded.logits(IDS, MASK);
            LogitsDifference byRounding = LogitsDifference.of(floatLogits, expected, MASK);
            assertTrue(byRounding.value() > 10 * TOLERANCE, "the rounding must move the logits for the comparison to "
                    + "tell quantized weights from float ones; " + byRounding);
            LogitsDifference actual = LogitsDifference.of(expected, ort.logits(IDS, MASK, positions()), MASK);
            System.out.println(fixture + " " + format + "/" + block + ": against the rounded model " + actual
                    + "; the rounding moved the logits by " + byRounding.value());
            assertTrue(actual.value() < TOLERANCE, fixture + " " + format + "/" + block + ": " + actual);

            float[][][] second = {Arrays.copyOfRange(expected[0], SPLIT, IDS[0].length)};
            LogitsDifference cached = LogitsDifference.of(second, ort.logitsAfterPast(IDS[0], SPLIT),
                    new long[][]{MASK[0]});
            assertTrue(cached.value() < TOLERANCE, fixture + " " + format + "/" + block + ", a second call on the first "
                    + "call's presents: " + cached);
        }
    }

    /**
     * The graph form: opset 21 and IR 10, one DequantizeLinear per quantized matrix (axis 0, the block size) over
     * INT4 codes (in, out) and float32 scales (in / block, out), whose output a MatMul reads; the routers stay
     * float32.
     */
    @Test
    void theGraphMultipliesByBlockwiseDequantizedWeightsAtOpset21(@TempDir Path tmp) throws Exception {
        Path folder = copy("references/qwen3_moe", tmp.resolve("model"));
        ModelProto proto;
        long quantizable;
        try (LanguageModel model = AutoModel.loadCausalLM(folder)) {
            proto = read(OnnxExporter.export(model, tmp.resolve("onnx"), OnnxExportOptions.int4()));
            quantizable = model.stateDict().entrySet().stream()
                    .filter(e -> inputAxis(e.getKey(), e.getValue()) >= 0).count();
        }
        assertEquals(OnnxExporter.QUANTIZED_OPSET, proto.getOpsetImport(0).getVersion());
        assertEquals(10, proto.getIrVersion());
        Map<String, TensorProto> initializers = new HashMap<>();
        List<GraphProto> graphs = allGraphs(proto.getGraph());
        graphs.forEach(g -> g.getInitializerList().forEach(t -> initializers.put(t.getName(), t)));
        List<NodeProto> nodes = graphs.stream().flatMap(g -> g.getNodeList().stream()).toList();
        List<NodeProto> dequantized = nodes.stream().filter(n -> n.getOpType().equals("DequantizeLinear")).toList();
        assertEquals(quantizable, dequantized.size(), "one DequantizeLinear per linear weight");
        for (NodeProto dq : dequantized) {
            assertEquals(0, attribute(dq, "axis"), dq.getInput(0));
            assertEquals(32, attribute(dq, "block_size"), dq.getInput(0));
            assertEquals(2, dq.getInputCount(), "no zero point: symmetric");
            TensorProto codes = initializers.get(dq.getInput(0));
            TensorProto scales = initializers.get(dq.getInput(1));
            assertEquals(TensorProto.DataType.INT4_VALUE, codes.getDataType(), codes.getName());
            assertEquals(TensorProto.DataType.FLOAT_VALUE, scales.getDataType(), scales.getName());
            assertEquals(Math.ceilDiv(codes.getDims(0), 32), scales.getDims(0), scales.getName());
            assertEquals(codes.getDims(1), scales.getDims(1), scales.getName());
            assertTrue(nodes.stream().anyMatch(n -> n.getOpType().equals("MatMul")
                    && n.getInput(1).equals(dq.getOutput(0))), "a MatMul multiplies by " + dq.getOutput(0));
        }
        TensorProto router = initializers.get("model.layers.0.mlp.gate.weight.T");
        assertEquals(TensorProto.DataType.FLOAT_VALUE, router.getDataType(), "the router stays float32");
    }

    /**
     * What ONNX Runtime's CPU graph optimizer makes of the blocks: each int4 DequantizeLinear and the MatMul that reads
     * it fused into one MatMulNBits (its contrib op, in the optimized model only), the shorter last block of 128 on
     * 64-wide inputs and the experts' products in their Loop bodies included; the int8 ones left as they are.
     */
    @ParameterizedTest(name = "{0} {1} in blocks of {2}")
    @CsvSource({"hf-tiny/llama, INT4, 32", "hf-tiny/llama, INT4, 128", "hf-tiny/llama, INT8, 32",
            "references/qwen3_moe, INT4, 32"})
    void onnxRuntimeFusesTheInt4BlocksIntoMatMulNBits(String fixture, WeightFormat format, int block, @TempDir Path tmp)
            throws Exception {
        Path file;
        long quantized;
        try (LanguageModel model = AutoModel.loadCausalLM(copy(fixture, tmp.resolve("model")))) {
            file = OnnxExporter.export(model, tmp.resolve("onnx"), new OnnxExportOptions(format, block));
            quantized = model.stateDict().entrySet().stream().filter(e -> inputAxis(e.getKey(), e.getValue()) >= 0)
                    .count();
        }
        Path optimized = tmp.resolve("optimized.onnx");
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setOptimizedModelFilePath(optimized.toString());
            OrtEnvironment.getEnvironment().createSession(file.toString(), options).close();
        }
        Map<String, Long> ops = new HashMap<>();
        allGraphs(read(optimized).getGraph()).forEach(g -> g.getNodeList().forEach(n -> ops.merge(n.getOpType(), 1L,
                Long::sum)));
        boolean fused = format == WeightFormat.INT4;
        assertEquals(fused ? quantized : 0, ops.getOrDefault("MatMulNBits", 0L), fixture + " optimized: " + ops);
        assertEquals(fused ? 0 : quantized, ops.getOrDefault("DequantizeLinear", 0L), fixture + " optimized: " + ops);
    }

    @Test
    void badOptionsAreRefused() {
        for (int size : new int[]{-32, 0, 8, 24, 48}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxExportOptions.int4(size));
            assertTrue(e.getMessage().contains("block size " + size + " for int4 weights is not a power of two of at "
                    + "least 16"), e.getMessage());
        }
        assertEquals(128, OnnxExportOptions.int8(128).blockSize());
        assertEquals(WeightFormat.INT4, WeightFormat.parse("Int4"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> WeightFormat.parse("int3"));
        assertEquals("weight format 'int3' is not one of float32, int8, int4", unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OnnxExportOptions(null, 32));
    }

    @Test
    void nullOptionsAreRefusedBeforeAnythingIsWritten(@TempDir Path tmp) throws Exception {
        try (LanguageModel model = AutoModel.loadCausalLM(OnnxExporterTest.resource("hf-tiny/llama"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(model, tmp.resolve("onnx"), null));
            assertTrue(e.getMessage().contains("OnnxExportOptions.float32()"), e.getMessage());
        }
        assertTrue(Files.notExists(tmp.resolve("onnx")));
    }

    /**
     * The axis of a quantized weight's input dimension in the checkpoint's layout, or -1 for a weight left float32:
     * nn.Linear's (out, in) projections (LFM2's w1 to w3, DeepSeek's kv_a_proj_with_mqa, Granite's input_linear and
     * output_linear among them; not the routers) and lm_head, GPT-2's Conv1D (in, out), gpt-oss's stacked experts (E,
     * in, out).
     */
    private static int inputAxis(String name, Tensor t) {
        if (name.endsWith(".c_attn.weight") || name.endsWith(".c_proj.weight") || name.endsWith(".c_fc.weight")) {
            return 0;
        }
        if (LINEAR.matcher(name).find() || name.equals("lm_head.weight")) {
            return 1;
        }
        return name.endsWith("experts.gate_up_proj") || name.endsWith("experts.down_proj") ? 1 : -1;
    }

    /**
     * {@code values} of shape {@code dims} with each run of {@code block} values along {@code axis} (the last run
     * shorter) rounded to its codes and back: scale = max |value| / (127 or 7), value = rint(value / scale) scale.
     */
    static float[] roundedToBlocks(float[] values, int[] dims, int axis, WeightFormat format, int block) {
        int outer = Arrays.stream(dims, 0, axis).reduce(1, (a, b) -> a * b);
        int inner = Arrays.stream(dims, axis + 1, dims.length).reduce(1, (a, b) -> a * b);
        int length = dims[axis];
        float[] out = values.clone();
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                for (int first = 0; first < length; first += block) {
                    int last = Math.min(first + block, length);
                    float max = 0;
                    for (int k = first; k < last; k++) {
                        max = Math.max(max, Math.abs(values[(o * length + k) * inner + j]));
                    }
                    float scale = max / format.maxCode();
                    for (int k = first; k < last; k++) {
                        int i = (o * length + k) * inner + j;
                        out[i] = scale == 0 ? 0 : (float) Math.rint(values[i] / scale) * scale;
                    }
                }
            }
        }
        return out;
    }

    /** Each quantized weight's codes and scales (one per block of each column), the other weights' float32 bytes. */
    private static long expectedDataBytes(Map<String, Tensor> stateDict, OnnxExportOptions options) {
        long bytes = 0;
        for (Map.Entry<String, Tensor> e : stateDict.entrySet()) {
            Tensor t = e.getValue();
            int axis = inputAxis(e.getKey(), t);
            if (axis < 0) {
                bytes += 4 * t.numel();
                continue;
            }
            long matrices = t.numel() / ((long) t.dim(t.rank() - 2) * t.dim(t.rank() - 1)); // gpt-oss: one per expert
            long in = t.dim(axis);
            long out = t.numel() / matrices / in;
            bytes += matrices * (options.weights().bytesFor(in * out) + 4 * Math.ceilDiv(in, options.blockSize()) * out);
        }
        return bytes;
    }

    private static Path copy(String fixture, Path into) throws Exception {
        if (fixture.startsWith("references/")) {
            return ReferenceFolders.copy(fixture, List.of("config.json", "model.safetensors"), into);
        }
        Files.createDirectories(into);
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(OnnxExporterTest.resource(fixture).resolve(f), into.resolve(f));
        }
        return into;
    }

    private static long[][] positions() {
        long[][] p = new long[IDS.length][IDS[0].length];
        for (long[] row : p) {
            Arrays.setAll(row, j -> j);
        }
        return p;
    }

    private static ModelProto read(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        }
    }

    /** The graph and its subgraphs (the experts' Loop bodies), outermost first. */
    private static List<GraphProto> allGraphs(GraphProto graph) {
        List<GraphProto> all = new ArrayList<>(List.of(graph));
        for (int i = 0; i < all.size(); i++) {
            all.get(i).getNodeList().forEach(n -> n.getAttributeList().stream()
                    .filter(a -> a.getType() == AttributeProto.AttributeType.GRAPH).forEach(a -> all.add(a.getG())));
        }
        return all;
    }

    private static long attribute(NodeProto node, String name) {
        return node.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst().orElseThrow().getI();
    }
}
