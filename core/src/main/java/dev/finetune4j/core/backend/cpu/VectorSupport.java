package dev.finetune4j.core.backend.cpu;

/**
 * Detects the incubating Vector API at run time. Classes that reference {@code jdk.incubator.vector} are only
 * loaded after this check passes, so the library runs (scalar) on a JVM started without the module.
 */
final class VectorSupport {
    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorSupport() {
    }

    static boolean isAvailable() {
        return AVAILABLE;
    }

    static GemmKernel newVectorGemm() {
        return new VectorGemm();
    }

    static MathKernels newVectorMath() {
        return new VectorMath();
    }
}
