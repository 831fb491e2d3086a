package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.core.backend.cuda.NativeFunctions.INT;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.PTR;

/**
 * The NVRTC calls finetune4j uses ({@code libnvrtc}): compiles CUDA C source to a cubin for one architecture.
 * Failed statuses become {@link CudaException}s naming the call and NVRTC's error; a failed compilation
 * carries the compiler's log.
 */
final class Nvrtc {
    private final MethodHandle version, createProgram, compileProgram, logSize, log, cubinSize, cubin,
            destroyProgram, errorString;

    Nvrtc(SymbolLookup libnvrtc) {
        this(new NativeFunctions(libnvrtc, "libnvrtc"));
    }

    /** The binding through {@code f}'s handles (a test's stand-ins where there is no GPU). */
    Nvrtc(NativeFunctions f) {
        version = f.status("nvrtcVersion", PTR, PTR);
        createProgram = f.status("nvrtcCreateProgram", PTR, PTR, PTR, INT, PTR, PTR);
        compileProgram = f.status("nvrtcCompileProgram", PTR, INT, PTR);
        logSize = f.status("nvrtcGetProgramLogSize", PTR, PTR);
        log = f.status("nvrtcGetProgramLog", PTR, PTR);
        cubinSize = f.status("nvrtcGetCUBINSize", PTR, PTR);
        cubin = f.status("nvrtcGetCUBIN", PTR, PTR);
        destroyProgram = f.status("nvrtcDestroyProgram", PTR);
        errorString = f.handle("nvrtcGetErrorString", FunctionDescriptor.of(PTR, INT));
    }

    /** {@code "13.0"}. */
    String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(INT);
            MemorySegment minor = a.allocate(INT);
            check("nvrtcVersion", CudaDriver.call(version, major, minor));
            return major.get(INT, 0) + "." + minor.get(INT, 0);
        }
    }

    /**
     * Compiles {@code source} (named {@code name}) with {@code headers} (include name to text) and
     * {@code options} into a cubin.
     *
     * @throws CudaException with the compiler's log when the source does not compile
     */
    byte[] compile(String name, String source, Map<String, String> headers, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment headerTexts = a.allocate(PTR, Math.max(1, headers.size()));
            MemorySegment headerNames = a.allocate(PTR, Math.max(1, headers.size()));
            int i = 0;
            for (Map.Entry<String, String> h : headers.entrySet()) {
                headerTexts.setAtIndex(PTR, i, a.allocateFrom(h.getValue()));
                headerNames.setAtIndex(PTR, i, a.allocateFrom(h.getKey()));
                i++;
            }
            MemorySegment programOut = a.allocate(PTR);
            check("nvrtcCreateProgram(" + name + ")", CudaDriver.call(createProgram, programOut,
                    a.allocateFrom(source), a.allocateFrom(name), headers.size(), headerTexts, headerNames));
            MemorySegment program = programOut.get(PTR, 0);
            try {
                MemorySegment opts = a.allocate(PTR, Math.max(1, options.size()));
                for (int o = 0; o < options.size(); o++) {
                    opts.setAtIndex(PTR, o, a.allocateFrom(options.get(o)));
                }
                int status = CudaDriver.call(compileProgram, program, options.size(), opts);
                if (status != 0) {
                    throw new CudaException(CudaException.describe("nvrtcCompileProgram(" + name + ")", status,
                            text(status), null) + "\n" + programLog(a, program), status);
                }
                MemorySegment size = a.allocate(NativeFunctions.LONG);
                check("nvrtcGetCUBINSize(" + name + ")", CudaDriver.call(cubinSize, program, size));
                MemorySegment image = a.allocate(size.get(NativeFunctions.LONG, 0));
                check("nvrtcGetCUBIN(" + name + ")", CudaDriver.call(cubin, program, image));
                return image.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            } finally {
                CudaDriver.call(destroyProgram, programOut);
            }
        }
    }

    private String programLog(Arena a, MemorySegment program) {
        MemorySegment size = a.allocate(NativeFunctions.LONG);
        if (CudaDriver.call(logSize, program, size) != 0) {
            return "(no compiler log)";
        }
        MemorySegment text = a.allocate(Math.max(1, size.get(NativeFunctions.LONG, 0)));
        return CudaDriver.call(log, program, text) == 0 ? text.getString(0) : "(no compiler log)";
    }

    private void check(String what, int status) {
        if (status != 0) {
            throw new CudaException(CudaException.describe(what, status, text(status), null), status);
        }
    }

    private String text(int status) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeWithArguments(status);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }
}
