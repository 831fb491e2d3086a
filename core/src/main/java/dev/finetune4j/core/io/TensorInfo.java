package dev.finetune4j.core.io;

import dev.finetune4j.core.tensor.DType;

/**
 * One entry of a safetensors header.
 *
 * @param name  tensor name
 * @param dtype element type
 * @param shape sizes per dimension
 * @param begin first byte, relative to the end of the header
 * @param end   one past the last byte, relative to the end of the header
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
