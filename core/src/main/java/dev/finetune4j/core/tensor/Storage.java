package dev.finetune4j.core.tensor;

import dev.finetune4j.core.backend.Device;

/**
 * The memory behind one or more tensor views, owned by the backend of its {@link Device}. Only that backend's
 * kernels read or write it: ops, layers and models hand tensors to kernels and never look inside. Host access
 * is an explicit copy ({@link Tensor#toFloatArray()}, {@link Tensor#copyTo}). Scopes track storage by identity:
 * implementations keep {@link Object}'s {@code equals} and {@code hashCode}.
 */
public interface Storage {

    /**
     * The device whose memory this is.
     *
     * @return the device
     */
    Device device();

    /**
     * The size in bytes.
     *
     * @return the size
     */
    long byteSize();

    /** Gives the memory back to its backend; called once, by the owning {@link TensorScope}. */
    void free();
}
