package dev.finetune4j.core.backend.cuda;

/**
 * What one kernel argument is at the ABI level: a device pointer, a 32-bit integer, a 64-bit integer, a float, or
 * a struct passed by value ({@code View}, {@code Dims}) of some size. A launch's arguments and a kernel's parsed
 * parameters are compared as these.
 *
 * @param kind the kind of value
 * @param bytes its size in bytes
 */
record KernelArgType(Kind kind, long bytes) {
    /** The kinds of argument {@link KernelArgs} can pass. */
    enum Kind { POINTER, I32, I64, F32, STRUCT }

    static final KernelArgType POINTER = new KernelArgType(Kind.POINTER, 8);
    static final KernelArgType I32 = new KernelArgType(Kind.I32, 4);
    static final KernelArgType I64 = new KernelArgType(Kind.I64, 8);
    static final KernelArgType F32 = new KernelArgType(Kind.F32, 4);

    /** A struct of {@code bytes} passed by value. */
    static KernelArgType struct(long bytes) {
        return new KernelArgType(Kind.STRUCT, bytes);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case POINTER -> "pointer";
            case I32 -> "int32";
            case I64 -> "int64";
            case F32 -> "float";
            case STRUCT -> "struct of " + bytes + " bytes";
        };
    }
}
