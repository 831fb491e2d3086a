package dev.finetune4j.onnx;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.onnx.OnnxExportOptions.WeightFormat;
import dev.finetune4j.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorProto;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Writes weights into one external data file, as ONNX's external data convention describes: each initializer
 * carries {@code location}, {@code offset} and {@code length} of its little-endian bytes (float32, or a quantized
 * matrix's codes and float32 scales) in the file
 * beside {@code model.onnx}. Weights of 1 MiB or more start at a multiple of 64 KiB, so that ONNX Runtime can
 * map them instead of copying on every platform.
 *
 * <p>A float32 weight in host memory goes from its storage to the file as it is; any other (bf16 or f16, transposed,
 * on a GPU) through one float32 host copy of that weight alone, freed before the next. Not thread-safe.
 */
final class ExternalWeights implements AutoCloseable {
    private static final long ALIGN = 64 * 1024;
    private static final long ALIGN_FROM = 1024 * 1024;
    private static final int STAGING = 1 << 22;

    private final String location;
    private final FileChannel channel;
    /** Host storage may be a heap array of any type, which a channel cannot write directly: bytes pass through here. */
    private final ByteBuffer staging = ByteBuffer.allocateDirect(STAGING);
    private final MemorySegment stagingSegment = MemorySegment.ofBuffer(staging);
    private long position;

    /** Opens {@code file} for writing; initializers will name it by its file name. */
    ExternalWeights(Path file) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("ONNX export writes host memory as ONNX's little-endian raw data; "
                    + "this platform is big-endian");
        }
        this.location = file.getFileName().toString();
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /** Appends {@code tensor} as float32 (2-D ones transposed when asked) and returns its initializer. */
    TensorProto write(String name, Tensor tensor, boolean transpose) throws IOException {
        Tensor view = view(name, tensor, transpose);
        long length = DType.F32.bytesFor(view.numel());
        long offset = start(length);
        try (TensorScope scope = TensorScope.open()) {
            MemorySegment bytes = hostFloats(view, scope);
            for (long done = 0; done < length; done += STAGING) {
                int n = (int) Math.min(STAGING, length - done);
                MemorySegment.copy(bytes, done, stagingSegment, 0, n);
                append(n);
            }
        }
        return initializer(name, GraphBuilder.FLOAT, view.shape().dims(), offset, length);
    }

    /**
     * Appends the 2-D {@code tensor}, transposed when asked, as a MatMul operand (K, N) quantized in blocks of
     * {@code blockSize} rows ({@link BlockQuantizer}; the last block shorter where {@code blockSize} does not divide
     * K): its codes, named {@code name}, of shape (K, N), then their scales, named {@code name + ".scale"}, float32
     * (ceil(K / blockSize), N).
     *
     * @return the codes' initializer and the scales'
     */
    List<TensorProto> writeQuantized(String name, Tensor tensor, boolean transpose, WeightFormat format, int blockSize)
            throws IOException {
        Tensor view = view(name, tensor, transpose);
        if (view.rank() != 2) {
            throw new IllegalArgumentException("cannot quantize weight '" + name + "' of shape " + view.shape()
                    + " as a MatMul operand: only 2-D weights are");
        }
        int rows = view.dim(0);
        int columns = view.dim(1);
        int blocks = Math.ceilDiv(rows, blockSize);
        float[] scales = new float[Math.multiplyExact(blocks, columns)];
        long length = format.bytesFor((long) rows * columns);
        long offset = start(length);
        try (TensorScope scope = TensorScope.open()) {
            MemorySegment values = hostFloats(view, scope);
            for (int b = 0; b < blocks; b++) {
                int first = b * blockSize;
                int count = Math.min(blockSize, rows - first) * columns;
                float[] block = new float[count];
                MemorySegment.copy(values, ValueLayout.JAVA_FLOAT, DType.F32.bytesFor((long) first * columns), block, 0,
                        count);
                BlockQuantizer.Quantized q = BlockQuantizer.quantizeBlock(block, count / columns, columns, format);
                System.arraycopy(q.scales(), 0, scales, b * columns, columns);
                appendAll(q.codes());
            }
        }
        int codeType = format == WeightFormat.INT8 ? TensorProto.DataType.INT8_VALUE : TensorProto.DataType.INT4_VALUE;
        TensorProto codes = initializer(name, codeType, new int[]{rows, columns}, offset, length);
        ByteBuffer scaleBytes = ByteBuffer.allocate(4 * scales.length).order(ByteOrder.LITTLE_ENDIAN);
        scaleBytes.asFloatBuffer().put(scales);
        long scalesOffset = start(scaleBytes.capacity());
        appendAll(scaleBytes.array());
        return List.of(codes, initializer(name + ".scale", GraphBuilder.FLOAT, new int[]{blocks, columns}, scalesOffset,
                scaleBytes.capacity()));
    }

    private static Tensor view(String name, Tensor tensor, boolean transpose) {
        if (transpose && tensor.rank() != 2) {
            throw new IllegalArgumentException("cannot transpose weight '" + name + "' of shape " + tensor.shape());
        }
        return transpose ? tensor.transpose(0, 1) : tensor;
    }

    /** {@code view}'s values as contiguous float32 in host memory, copied into {@code scope} where they are not. */
    private static MemorySegment hostFloats(Tensor view, TensorScope scope) {
        Tensor f32 = view.dtype() == DType.F32 && view.isContiguous() ? view : view.convertTo(DType.F32, scope);
        Tensor host = f32.device().isCpu() ? f32 : f32.copyTo(Device.cpu(), scope);
        return host.hostSegment().asSlice(DType.F32.bytesFor(host.offset()), DType.F32.bytesFor(host.numel()));
    }

    /** Where the next {@code length} bytes go: the current end, moved to a 64 KiB boundary for large tensors. */
    private long start(long length) {
        if (length >= ALIGN_FROM && position % ALIGN != 0) {
            position += ALIGN - position % ALIGN;
        }
        return position;
    }

    /** Appends {@code bytes} through the staging buffer. */
    private void appendAll(byte[] bytes) throws IOException {
        for (int done = 0; done < bytes.length; done += STAGING) {
            int n = Math.min(STAGING, bytes.length - done);
            staging.clear();
            staging.put(bytes, done, n);
            append(n);
        }
    }

    /** Writes the staging buffer's first {@code n} bytes at {@link #position}. */
    private void append(int n) throws IOException {
        staging.clear().limit(n);
        while (staging.hasRemaining()) {
            position += channel.write(staging, position);
        }
    }

    private TensorProto initializer(String name, int dataType, int[] dims, long offset, long length) {
        TensorProto.Builder proto = TensorProto.newBuilder().setName(name).setDataType(dataType)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL);
        for (int d : dims) {
            proto.addDims(d);
        }
        return proto.addExternalData(entry("location", location))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Long.toString(length)))
                .build();
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /** Forces the data to disk and closes the file. */
    @Override
    public void close() throws IOException {
        try (channel) {
            channel.force(true);
        }
    }
}
