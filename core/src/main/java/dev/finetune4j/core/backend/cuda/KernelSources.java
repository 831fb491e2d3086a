package dev.finetune4j.core.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The CUDA C sources shipped as resources next to this class: one file per op family and their shared header. */
final class KernelSources {
    /** The header every family includes. */
    static final String COMMON = "common.cuh";
    /** The family files, without their {@code .cu} suffix. */
    static final List<String> FAMILIES = List.of("copy", "elementwise", "reductions", "softmax", "norms",
            "activations", "rotary", "attention", "embedding", "cross_entropy", "dropout", "optimizer",
            "quantization");

    private KernelSources() {
    }

    /** The text of resource {@code name} ({@code "norms.cu"}, {@link #COMMON}). */
    static String read(String name) {
        try (InputStream in = KernelSources.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + name + " is missing from the finetune4j-core jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + name, e);
        }
    }
}
