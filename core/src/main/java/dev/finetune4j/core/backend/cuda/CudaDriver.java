package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static dev.finetune4j.core.backend.cuda.NativeFunctions.INT;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.LONG;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.PTR;

/**
 * The CUDA driver API calls finetune4j uses ({@code libcuda.so.1}), each turning a failed status into a
 * {@link CudaException} that names the call and the driver's error name and description. Handles (contexts,
 * streams, modules, functions) are {@link MemorySegment} addresses; device pointers are {@code long}s.
 */
final class CudaDriver {
    static final int CUDA_SUCCESS = 0;
    static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    static final int CUDA_ERROR_NOT_READY = 600;
    static final int ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    static final int FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
    static final int FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    static final int STREAM_NON_BLOCKING = 1;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetAttribute,
            cuDeviceGetName, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuStreamCreate,
            cuStreamDestroy, cuStreamSynchronize, cuStreamQuery, cuMemAlloc, cuMemFree, cuMemGetInfo, cuMemHostAlloc,
            cuMemFreeHost, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemsetD8Async, cuModuleLoadData,
            cuModuleUnload, cuModuleGetFunction, cuFuncGetAttribute, cuFuncSetAttribute, cuLaunchKernel, cuGetErrorName,
            cuGetErrorString;
    private final NativeFunctions functions;
    private CudaEvents events;

    CudaDriver(SymbolLookup libcuda) {
        this(new NativeFunctions(libcuda, "libcuda"));
    }

    /** The binding through {@code f}'s handles (a test's stand-ins where there is no GPU). */
    CudaDriver(NativeFunctions f) {
        functions = f;
        cuInit = f.status("cuInit", INT);
        cuDriverGetVersion = f.status("cuDriverGetVersion", PTR);
        cuDeviceGetCount = f.status("cuDeviceGetCount", PTR);
        cuDeviceGet = f.status("cuDeviceGet", PTR, INT);
        cuDeviceGetAttribute = f.status("cuDeviceGetAttribute", PTR, INT, INT);
        cuDeviceGetName = f.status("cuDeviceGetName", PTR, INT, INT);
        cuDevicePrimaryCtxRetain = f.status("cuDevicePrimaryCtxRetain", PTR, INT);
        cuDevicePrimaryCtxRelease = f.status("cuDevicePrimaryCtxRelease_v2", INT);
        cuCtxSetCurrent = f.status("cuCtxSetCurrent", PTR);
        cuStreamCreate = f.status("cuStreamCreate", PTR, INT);
        cuStreamDestroy = f.status("cuStreamDestroy_v2", PTR);
        cuStreamSynchronize = f.status("cuStreamSynchronize", PTR);
        cuStreamQuery = f.status("cuStreamQuery", PTR);
        cuMemAlloc = f.status("cuMemAlloc_v2", PTR, LONG);
        cuMemFree = f.status("cuMemFree_v2", LONG);
        cuMemGetInfo = f.status("cuMemGetInfo_v2", PTR, PTR);
        cuMemHostAlloc = f.status("cuMemHostAlloc", PTR, LONG, INT);
        cuMemFreeHost = f.status("cuMemFreeHost", PTR);
        cuMemcpyHtoDAsync = f.status("cuMemcpyHtoDAsync_v2", LONG, PTR, LONG, PTR);
        cuMemcpyDtoHAsync = f.status("cuMemcpyDtoHAsync_v2", PTR, LONG, LONG, PTR);
        cuMemsetD8Async = f.status("cuMemsetD8Async", LONG, java.lang.foreign.ValueLayout.JAVA_BYTE, LONG, PTR);
        cuModuleLoadData = f.status("cuModuleLoadData", PTR, PTR);
        cuModuleUnload = f.status("cuModuleUnload", PTR);
        cuModuleGetFunction = f.status("cuModuleGetFunction", PTR, PTR, PTR);
        cuFuncGetAttribute = f.status("cuFuncGetAttribute", PTR, INT, PTR);
        cuFuncSetAttribute = f.status("cuFuncSetAttribute", PTR, INT, INT);
        cuLaunchKernel = f.status("cuLaunchKernel", PTR, INT, INT, INT, INT, INT, INT, INT, PTR, PTR, PTR);
        cuGetErrorName = f.status("cuGetErrorName", INT, PTR);
        cuGetErrorString = f.status("cuGetErrorString", INT, PTR);
    }

    /** The event calls, bound on first use ({@link CudaEvents}). */
    synchronized CudaEvents events() {
        if (events == null) {
            events = new CudaEvents(functions, this);
        }
        return events;
    }

    void init() {
        check("cuInit", call(cuInit, 0));
    }

    /** The driver's CUDA version, e.g. 13000. */
    int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDriverGetVersion", call(cuDriverGetVersion, out));
            return out.get(INT, 0);
        }
    }

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDeviceGetCount", call(cuDeviceGetCount, out));
            return out.get(INT, 0);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDeviceGet(" + ordinal + ")", call(cuDeviceGet, out, ordinal));
            return out.get(INT, 0);
        }
    }

    int attribute(int attribute, int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDeviceGetAttribute(" + attribute + ")", call(cuDeviceGetAttribute, out, attribute, device));
            return out.get(INT, 0);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", call(cuDeviceGetName, out, 256, device));
            return out.getString(0);
        }
    }

    MemorySegment primaryContextRetain(int device) {
        return handleOut("cuDevicePrimaryCtxRetain", out -> call(cuDevicePrimaryCtxRetain, out, device));
    }

    void primaryContextRelease(int device) {
        check("cuDevicePrimaryCtxRelease", call(cuDevicePrimaryCtxRelease, device));
    }

    void setCurrent(MemorySegment context) {
        check("cuCtxSetCurrent", call(cuCtxSetCurrent, context));
    }

    MemorySegment streamCreate() {
        return handleOut("cuStreamCreate", out -> call(cuStreamCreate, out, STREAM_NON_BLOCKING));
    }

    void streamDestroy(MemorySegment stream) {
        check("cuStreamDestroy", call(cuStreamDestroy, stream));
    }

    void streamSynchronize(MemorySegment stream) {
        check("cuStreamSynchronize", call(cuStreamSynchronize, stream));
    }

    /** Whether the work queued on {@code stream} is done, without waiting for it. */
    boolean streamDone(MemorySegment stream) {
        int status = call(cuStreamQuery, stream);
        if (status == CUDA_ERROR_NOT_READY) {
            return false;
        }
        check("cuStreamQuery", status);
        return true;
    }

    /** A device allocation; a failure keeps the driver's status ({@link #CUDA_ERROR_OUT_OF_MEMORY} when full). */
    long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            check("cuMemAlloc(" + bytes + " bytes)", call(cuMemAlloc, out, bytes));
            return out.get(LONG, 0);
        }
    }

    void memFree(long pointer) {
        check("cuMemFree", call(cuMemFree, pointer));
    }

    /** {free, total} bytes of the current context's device. */
    long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(LONG);
            MemorySegment total = a.allocate(LONG);
            check("cuMemGetInfo", call(cuMemGetInfo, free, total));
            return new long[]{free.get(LONG, 0), total.get(LONG, 0)};
        }
    }

    /** Page-locked host memory of {@code bytes}; free with {@link #hostFree}. */
    MemorySegment hostAlloc(long bytes) {
        return handleOut("cuMemHostAlloc(" + bytes + " bytes)", out -> call(cuMemHostAlloc, out, bytes, 0))
                .reinterpret(bytes);
    }

    void hostFree(MemorySegment host) {
        check("cuMemFreeHost", call(cuMemFreeHost, host));
    }

    void copyHostToDeviceAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        check("cuMemcpyHtoDAsync", call(cuMemcpyHtoDAsync, dst, src, bytes, stream));
    }

    void copyDeviceToHostAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoHAsync", call(cuMemcpyDtoHAsync, dst, src, bytes, stream));
    }

    void memsetAsync(long dst, byte value, long bytes, MemorySegment stream) {
        int status = call(cuMemsetD8Async, dst, value, bytes, stream);
        if (status != CUDA_SUCCESS) {
            check("cuMemsetD8Async(" + bytes + " bytes)", status);
        }
    }

    MemorySegment moduleLoad(MemorySegment image) {
        return handleOut("cuModuleLoadData", out -> call(cuModuleLoadData, out, image));
    }

    void moduleUnload(MemorySegment module) {
        check("cuModuleUnload", call(cuModuleUnload, module));
    }

    MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cName = a.allocateFrom(name);
            return handleOut("cuModuleGetFunction(" + name + ")", out -> call(cuModuleGetFunction, out, module, cName));
        }
    }

    int functionAttribute(MemorySegment function, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuFuncGetAttribute(" + attribute + ")", call(cuFuncGetAttribute, out, attribute, function));
            return out.get(INT, 0);
        }
    }

    void setFunctionAttribute(MemorySegment function, int attribute, int value) {
        check("cuFuncSetAttribute", call(cuFuncSetAttribute, function, attribute, value));
    }

    /** Launches {@code function}; {@code params} is the array of pointers to each argument. */
    void launch(String name, MemorySegment function, int grid, int block, int sharedBytes, MemorySegment stream,
                MemorySegment params) {
        int status = call(cuLaunchKernel, function, grid, 1, 1, block, 1, 1, sharedBytes, stream, params,
                MemorySegment.NULL);
        if (status != CUDA_SUCCESS) { // the message is built only then: launches are the hot path
            check("cuLaunchKernel(" + name + ", grid " + grid + ", block " + block + ")", status);
        }
    }

    /** Throws a {@link CudaException} naming {@code what} and the driver's error unless {@code status} is 0. */
    void check(String what, int status) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException(CudaException.describeDriver(what, status, errorText(cuGetErrorName, status),
                    errorText(cuGetErrorString, status)), status);
        }
    }

    private String errorText(MethodHandle lookup, int status) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            if (call(lookup, status, out) != CUDA_SUCCESS || out.get(PTR, 0).equals(MemorySegment.NULL)) {
                return null;
            }
            return out.get(PTR, 0).reinterpret(1024).getString(0);
        }
    }

    private interface StatusCall {
        int call(MemorySegment out);
    }

    private MemorySegment handleOut(String what, StatusCall body) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            check(what, body.call(out));
            return out.get(PTR, 0);
        }
    }

    /** Invokes a {@link NativeFunctions#status} handle; native calls throw nothing but a broken binding. */
    static int call(MethodHandle handle, Object... args) {
        try {
            return (int) handle.invokeExact(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed: " + t, t);
        }
    }
}
