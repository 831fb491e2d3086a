package dev.finetune4j.eval.onnx;

/** The ONNX Runtime execution provider a session runs on. */
public enum ExecutionProvider {
    /** NVIDIA GPUs, from the {@code onnxruntime_gpu} artifact with its CUDA libraries. */
    CUDA,
    /** The host's CPU, always available. */
    CPU
}
