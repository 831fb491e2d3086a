package dev.finetune4j.onnx;

import com.google.protobuf.ByteString;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.onnx.proto.OnnxProto.AttributeProto;
import dev.finetune4j.onnx.proto.OnnxProto.GraphProto;
import dev.finetune4j.onnx.proto.OnnxProto.NodeProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorShapeProto;
import dev.finetune4j.onnx.proto.OnnxProto.TypeProto;
import dev.finetune4j.onnx.proto.OnnxProto.ValueInfoProto;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Appends nodes, constants, weights, inputs and outputs to an ONNX graph. Node outputs get unique generated
 * names unless a caller names them (graph outputs); small constants are stored in the model file, weights in
 * the external data file through {@link ExternalWeights}. Not thread-safe: one export builds one graph.
 */
final class GraphBuilder {
    static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    static final int INT64 = TensorProto.DataType.INT64_VALUE;
    static final int BOOL = TensorProto.DataType.BOOL_VALUE;

    /** The model's graph, which holds every initializer and the outermost nodes. */
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    /** Where nodes, inputs and outputs go: {@link #graph}, or the subgraph being built ({@link #subgraph}). */
    private GraphProto.Builder nodes = graph;
    private final ExternalWeights weights;
    private final OnnxExportOptions options;
    private final Map<String, Integer> counters = new HashMap<>();
    private final Map<String, String> constants = new HashMap<>();

    GraphBuilder(String name, ExternalWeights weights, OnnxExportOptions options) {
        this.weights = weights;
        this.options = options;
        graph.setName(name);
    }

    /** The operator set of the graph: {@link OnnxExporter#OPSET}, or 21 for blocked DequantizeLinear. */
    int opset() {
        return options.quantized() ? OnnxExporter.QUANTIZED_OPSET : OnnxExporter.OPSET;
    }

    /** The finished graph. */
    GraphProto build() {
        return graph.build();
    }

    /** Adds a subgraph's nodes, inputs and outputs. */
    interface Body {
        void build() throws IOException;
    }

    /**
     * The graph of the nodes, inputs and outputs that {@code body} adds (a Loop's body), while the constants and
     * weights it adds stay initializers of the model's graph, which a subgraph reads from the outer scope as it reads
     * the outer graph's values.
     */
    GraphProto subgraph(String name, Body body) throws IOException {
        GraphProto.Builder outer = nodes;
        nodes = GraphProto.newBuilder().setName(fresh(name));
        try {
            body.build();
            return nodes.build();
        } finally {
            nodes = outer;
        }
    }

    /** A value name no other value of the model has (a subgraph's inputs). */
    String name(String prefix) {
        return fresh(prefix);
    }

    /** One node with one output of a generated name; returns that name. */
    String op(String opType, List<String> inputs, AttributeProto... attributes) {
        return opInto(fresh(opType), opType, inputs, attributes);
    }

    /** One node whose single output is named {@code output} (a graph output); returns {@code output}. */
    String opInto(String output, String opType, List<String> inputs, AttributeProto... attributes) {
        return ops(List.of(output), opType, inputs, attributes).getFirst();
    }

    /** One node with {@code count} outputs of generated names (Split); returns them. */
    List<String> ops(int count, String opType, List<String> inputs, AttributeProto... attributes) {
        String base = fresh(opType);
        List<String> outputs = IntStream.range(0, count).mapToObj(i -> base + "_" + i).toList();
        return ops(outputs, opType, inputs, attributes);
    }

    private List<String> ops(List<String> outputs, String opType, List<String> inputs, AttributeProto... attributes) {
        nodes.addNode(NodeProto.newBuilder()
                .setName(outputs.getFirst() + "_node")
                .setOpType(opType)
                .addAllInput(inputs)
                .addAllOutput(outputs)
                .addAllAttribute(List.of(attributes)));
        return outputs;
    }

    /** A 1-D int64 constant (shapes, axes, slice bounds), shared by every node that uses the same values. */
    String ints(long... values) {
        ByteBuffer raw = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            raw.putLong(v);
        }
        return constant(INT64, raw, values.length);
    }

    /** A float32 scalar constant (epsilons, scales). */
    String scalar(float value) {
        return constant(FLOAT, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value), -1);
    }

    /** An int64 scalar constant (Range's bounds). */
    String scalar(long value) {
        return constant(INT64, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value), -1);
    }

    /** A 1-D float32 constant kept in the model file (rotary frequencies). */
    String floats(String name, float[] values) {
        ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(FLOAT).addDims(values.length)
                .setRawData(ByteString.copyFrom(raw.array())));
        return name;
    }

    /** {@code length} -1 makes a scalar; the same type and bytes give the same initializer. */
    private String constant(int dataType, ByteBuffer raw, int length) {
        ByteString bytes = ByteString.copyFrom(raw.array());
        String key = dataType + ":" + length + ":" + Base64.getEncoder().encodeToString(raw.array());
        return constants.computeIfAbsent(key, k -> {
            String name = fresh("const");
            TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(dataType).setRawData(bytes);
            if (length >= 0) {
                t.addDims(length);
            }
            graph.addInitializer(t);
            return name;
        });
    }

    /**
     * A weight as float32 in the external data file, named {@code name}; 2-D weights are stored transposed when
     * {@code transpose} (so that MatMul takes them as they are).
     */
    String weight(String name, Tensor tensor, boolean transpose) throws IOException {
        graph.addInitializer(weights.write(name, tensor, transpose));
        return name;
    }

    /**
     * A linear layer's weight as a MatMul operand (in, out), {@code tensor} being stored (out, in) when
     * {@code transpose}: the float32 initializer {@code name}, or in a quantized export the output of
     * {@code DequantizeLinear(name, name.scale)} over its blocks along the input axis (axis 0).
     */
    String linearWeight(String name, Tensor tensor, boolean transpose) throws IOException {
        if (!options.quantized()) {
            return weight(name, tensor, transpose);
        }
        // NOTE: initializers of the graph that multiplies (an experts' Loop body too), not only of the model's graph:
        // ONNX Runtime's fusion of DequantizeLinear and MatMul looks the codes up in the node's own graph, and fails
        // the session ("Missing required weight") where they are the outer graph's
        nodes.addAllInitializer(weights.writeQuantized(name, tensor, transpose, options.weights(), options.blockSize()));
        return op("DequantizeLinear", List.of(name, name + ".scale"), intAttr("axis", 0),
                intAttr("block_size", options.blockSize()));
    }

    /**
     * {@code op} (ReduceMean, ReduceMax) of {@code x} over {@code axes}: an attribute up to opset 17, an input from
     * opset 18 on, which dropped the attribute.
     */
    String reduce(String op, String x, boolean keepdims, long... axes) {
        AttributeProto keep = intAttr("keepdims", keepdims ? 1 : 0);
        return opset() < 18 ? op(op, List.of(x), intsAttr("axes", axes), keep) : op(op, List.of(x, ints(axes)), keep);
    }

    /** A graph input; each dimension is a fixed size (Integer) or a symbolic name (String); none for a scalar. */
    void input(String name, int elementType, Object... dims) {
        nodes.addInput(valueInfo(name, elementType, dims));
    }

    /** Declares {@code name}, produced by a node, as a graph output. */
    void output(String name, int elementType, Object... dims) {
        nodes.addOutput(valueInfo(name, elementType, dims));
    }

    /** Declares {@code name} as an output of the subgraph being built, its shape left to the runtime's inference. */
    void outputOfAnyShape(String name, int elementType) {
        TypeProto.Tensor type = TypeProto.Tensor.newBuilder().setElemType(elementType).build();
        nodes.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(type)));
    }

    private static ValueInfoProto valueInfo(String name, int elementType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer size) {
                dim.setDimValue(size);
            } else {
                dim.setDimParam((String) d);
            }
            shape.addDim(dim);
        }
        TypeProto.Tensor type = TypeProto.Tensor.newBuilder().setElemType(elementType).setShape(shape).build();
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(type)).build();
    }

    private String fresh(String prefix) {
        int n = counters.merge(prefix, 1, Integer::sum);
        return prefix + "_" + n;
    }

    static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto intsAttr(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    static AttributeProto floatAttr(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    static AttributeProto graphAttr(String name, GraphProto value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH).setG(value).build();
    }

    static AttributeProto stringAttr(String name, String value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build();
    }
}
