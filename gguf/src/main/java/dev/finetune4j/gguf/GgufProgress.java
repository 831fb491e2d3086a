package dev.finetune4j.gguf;

/**
 * Progress of a GGUF export, told after each tensor is written (on the exporting thread): a large model takes
 * minutes to convert and write.
 */
@FunctionalInterface
public interface GgufProgress {

    /** No progress reports. */
    GgufProgress NONE = (tensors, totalTensors, bytes, totalBytes) -> { };

    /**
     * Called after each tensor's data is written.
     *
     * @param tensors      the tensors written so far
     * @param totalTensors the tensors of the file
     * @param bytes        the tensor data written so far, padding included
     * @param totalBytes   the tensor data of the file
     */
    void written(int tensors, int totalTensors, long bytes, long totalBytes);
}
