package dev.finetune4j.onnx;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorProto;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes weights into one external data file, as ONNX's external data convention describes: each initializer
 * carries {@code location}, {@code offset} and {@code length} of its little-endian float32 bytes in the file
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
        if (transpose && tensor.rank() != 2) {
            throw new IllegalArgumentException("cannot transpose weight '" + name + "' of shape " + tensor.shape());
        }
        Tensor view = transpose ? tensor.transpose(0, 1) : tensor;
        TensorProto.Builder proto = TensorProto.newBuilder().setName(name).setDataType(GraphBuilder.FLOAT)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL);
        for (int i = 0; i < view.rank(); i++) {
            proto.addDims(view.dim(i));
        }
        long length = DType.F32.bytesFor(view.numel());
        if (length >= ALIGN_FROM && position % ALIGN != 0) {
            position += ALIGN - position % ALIGN;
        }
        long offset = position;
        try (TensorScope scope = TensorScope.open()) {
            Tensor f32 = view.dtype() == DType.F32 && view.isContiguous() ? view : view.convertTo(DType.F32, scope);
            Tensor host = f32.device().isCpu() ? f32 : f32.copyTo(Device.cpu(), scope);
            MemorySegment bytes = host.hostSegment().asSlice(DType.F32.bytesFor(host.offset()), length);
            for (long done = 0; done < length; done += STAGING) {
                int n = (int) Math.min(STAGING, length - done);
                MemorySegment.copy(bytes, done, stagingSegment, 0, n);
                staging.clear().limit(n);
                while (staging.hasRemaining()) {
                    position += channel.write(staging, position);
                }
            }
        }
        proto.addExternalData(entry("location", location))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Long.toString(length)));
        return proto.build();
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
