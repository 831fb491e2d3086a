package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;

/**
 * Makes the handles of one library's C functions for its binding class (CudaDriver, Cublas, Nvrtc): downcalls into
 * the loaded library, or, for tests without a GPU, whatever a {@link Binder} stands in for them.
 */
final class NativeFunctions {
    /** Makes the handle of the C function {@code name} with {@code descriptor}. */
    interface Binder {
        MethodHandle bind(String name, FunctionDescriptor descriptor);
    }

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    static final AddressLayout PTR = ValueLayout.ADDRESS;

    private final Binder binder;

    /** Downcalls into {@code library}; a missing function names {@code libraryName}. */
    NativeFunctions(SymbolLookup library, String libraryName) {
        this((name, descriptor) -> Linker.nativeLinker().downcallHandle(library.find(name).orElseThrow(
                () -> new CudaException(libraryName + " has no function " + name + "; the installed CUDA version is"
                        + " too old for finetune4j (CUDA 12 or newer is needed)", 0)), descriptor));
    }

    NativeFunctions(Binder binder) {
        this.binder = binder;
    }

    /**
     * A function returning a status code ({@code int}) and taking {@code args}, as a handle of type
     * {@code (Object[]) int} for {@link CudaDriver#call}: spread once here, since spreading at each call
     * ({@code invokeWithArguments}) costs more host time than the launch it makes.
     */
    MethodHandle status(String name, MemoryLayout... args) {
        return handle(name, FunctionDescriptor.of(INT, args)).asSpreader(Object[].class, args.length)
                .asType(MethodType.methodType(int.class, Object[].class));
    }

    /** A function with any descriptor. */
    MethodHandle handle(String name, FunctionDescriptor descriptor) {
        return binder.bind(name, descriptor);
    }
}
