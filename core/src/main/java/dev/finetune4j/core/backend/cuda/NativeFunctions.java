package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Makes the downcall handles of one library for its binding class (CudaDriver, Cublas, Nvrtc). */
final class NativeFunctions {
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    static final AddressLayout PTR = ValueLayout.ADDRESS;

    private final SymbolLookup library;
    private final String libraryName;

    NativeFunctions(SymbolLookup library, String libraryName) {
        this.library = library;
        this.libraryName = libraryName;
    }

    /** A function returning a status code ({@code int}) and taking {@code args}. */
    MethodHandle status(String name, MemoryLayout... args) {
        return handle(name, FunctionDescriptor.of(INT, args));
    }

    /** A function with any descriptor. */
    MethodHandle handle(String name, FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(library.find(name).orElseThrow(() -> new CudaException(
                libraryName + " has no function " + name + "; the installed CUDA version is too old for finetune4j"
                        + " (CUDA 12 or newer is needed)", 0)), descriptor);
    }
}
