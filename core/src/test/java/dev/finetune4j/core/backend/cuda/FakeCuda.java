package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stand-ins for the functions of libcuda, libcublas and libnvrtc that the bindings declare, for running the CUDA
 * backend's Java code on a machine without a GPU. Nothing is computed: device memory is address ranges with no
 * bytes behind them. What can be checked without a GPU is checked and fails loudly with an {@link AssertionError}:
 * every pointer a kernel launch, a copy, a memset or a GEMM receives lies in a live device allocation (with the
 * GEMM's whole strided extent, and every element a kernel's {@code (pointer, int xType, View)} reaches, inside it),
 * typed pointers are aligned, a freed block is freed once, a launch's arguments match the kernel's
 * parameters byte for byte (decoded from the parameter array cuLaunchKernel receives), the launch configuration
 * and shared memory are within the card's limits, and the calling thread has a current context. The "cubin" of a family is its source's name, so that a launch can be
 * traced back to the family's parsed signatures. {@link EmulatedCuda} keeps these checks and also carries the calls out.
 */
class FakeCuda implements NativeFunctions.Binder {
    /** Opt-in shared memory per block of an H100/H200 (227 KiB). */
    static final int MAX_SHARED_OPTIN = 232_448;
    /** Static shared memory of every fake kernel: the partials of common.cuh's two block reductions. */
    static final int STATIC_SHARED = 32 * 8 + 32 * 4;
    private static final long DEVICE_BASE = 0x7f00_0000_0000L;
    /**
     * Memory of the fake device, an H200's 141 GiB: what is not live is free, and an allocation larger than that fails
     * with CUDA_ERROR_OUT_OF_MEMORY, so a model that would not fit the card fails here too.
     */
    static final long TOTAL_BYTES = 141L << 30;
    /** Longs of common.cuh's View: rank, offset, shape and strides. */
    private static final int VIEW_LONGS = 2 + 2 * KernelArgs.MAX_RANK;
    /** Alignment a kernel's typed pointer needs. */
    private static final Map<String, Integer> POINTEE_BYTES = Map.of("float", 4, "int", 4, "unsigned int", 4,
            "long long", 8, "unsigned long long", 8, "double", 8, "unsigned short", 2);
    private static final MethodHandle DISPATCH;
    /**
     * The fake's clock: every queued operation (launch, product, memset, copy) takes this long, so that an event's
     * time is the work queued before it and each timed operation takes exactly this.
     */
    static final long FAKE_WORK_NANOS = 1000;
    /** CUDA_ERROR_INVALID_HANDLE. */
    private static final int CUDA_ERROR_INVALID_HANDLE = 400;
    /** {@link #pointee} by declaration: parsed once, since every launch checks every pointer. */
    private static final Map<String, String> POINTEES = new ConcurrentHashMap<>();

    static {
        try {
            DISPATCH = MethodHandles.lookup().findVirtual(FakeCuda.class, "dispatch",
                    MethodType.methodType(Object.class, String.class, Object[].class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One kernel launch as the driver received it. */
    record Launch(String family, String kernel, int grid, int block, int sharedBytes) {
    }

    // NOTE: pinned host buffers live as long as the fake device, which lives as long as the test JVM.
    private final Arena host = Arena.ofShared();
    private final TreeMap<Long, Long> live = new TreeMap<>();
    private long liveBytes;
    private final Map<Long, String> modules = new HashMap<>();
    private final Map<Long, String[]> functions = new HashMap<>();
    private final Map<Long, Integer> dynamicShared = new HashMap<>();
    private final Map<Long, String> programs = new HashMap<>();
    private final Map<String, Map<String, KernelSignature>> signatures = new HashMap<>();
    private final List<Launch> launches = new ArrayList<>();
    private int queued;
    private int copies;
    /** The time each live event recorded, in nanoseconds of the fake's clock; -1 before it is recorded. */
    private final Map<Long, Long> eventTimes = new HashMap<>();
    private int failNextSynchronize;
    /** Whether cuStreamQuery reports queued work as still running (a collective stuck on the device). */
    private boolean streamsBusy;
    /** Calls that need no current context. */
    private static final Set<String> CONTEXT_FREE = Set.of("cuInit", "cuDriverGetVersion", "cuDeviceGetCount",
            "cuDeviceGet", "cuDeviceGetAttribute", "cuDeviceGetName", "cuDevicePrimaryCtxRetain",
            "cuDevicePrimaryCtxRelease_v2", "cuCtxSetCurrent", "cuGetErrorName", "cuGetErrorString",
            "cublasGetStatusName", "cublasGetStatusString");
    private final ThreadLocal<Long> current = new ThreadLocal<>();
    private long nextDevice = DEVICE_BASE;
    private long nextHandle = 0x1000;

    @Override
    public MethodHandle bind(String name, FunctionDescriptor descriptor) {
        return MethodHandles.insertArguments(DISPATCH, 0, this, name)
                .asCollector(Object[].class, descriptor.argumentLayouts().size())
                .asType(descriptor.toMethodType());
    }

    /** The launches so far. */
    synchronized List<Launch> launches() {
        return List.copyOf(launches);
    }

    /** Kernel launches, GEMMs and memsets queued so far. */
    synchronized int queued() {
        return queued;
    }

    /** Device bytes allocated from the driver and not freed. */
    synchronized long liveBytes() {
        return liveBytes;
    }

    /** Makes the next cuStreamSynchronize report {@code status}, as a kernel that faulted would. */
    synchronized void failNextSynchronize(int status) {
        failNextSynchronize = status;
    }

    /** Makes cuStreamQuery report every stream busy ({@code true}), as while a collective waits for a peer. */
    synchronized void streamsBusy(boolean busy) {
        streamsBusy = busy;
    }

    /** The context current on the calling thread, or null (for stand-ins of other libraries that need one). */
    Long currentContext() {
        return current.get();
    }

    /**
     * Fails unless {@code [pointer, pointer + bytes)} lies inside one live device allocation (for stand-ins of other
     * libraries that take device pointers).
     */
    synchronized void requireLive(String what, long pointer, long bytes) {
        requireDevice(what, pointer, bytes);
    }

    /** Makes the calling thread one on which no context has been made current yet. */
    void leaveContext() {
        current.remove();
    }

    private synchronized Object dispatch(String name, Object[] a) {
        if (current.get() == null && !name.startsWith("nvrtc") && !CONTEXT_FREE.contains(name)) {
            throw new AssertionError(name + " on thread " + Thread.currentThread().getName() + ", which has no"
                    + " current context: the driver fails with CUDA_ERROR_INVALID_CONTEXT (cuBLAS would use device 0)");
        }
        switch (name) {
            case "cuCtxSetCurrent" -> current.set(((MemorySegment) a[0]).address());
            case "cuDeviceGetCount" -> putInt(a[0], 1);
            case "cuDeviceGet" -> putInt(a[0], (int) a[1]);
            case "cuDeviceGetAttribute" -> putInt(a[0], switch ((int) a[1]) {
                case CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR -> 9;
                case CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR -> 0;
                case CudaDriver.ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN -> MAX_SHARED_OPTIN;
                default -> throw new AssertionError("the fake CUDA driver knows no device attribute " + a[1]);
            });
            case "cuDeviceGetName" -> ((MemorySegment) a[0]).reinterpret((int) a[1]).setString(0, "Fake GPU");
            case "cuDevicePrimaryCtxRetain", "cuStreamCreate", "cublasCreate_v2" -> putLong(a[0], nextHandle++);
            case "cuMemAlloc_v2" -> {
                if ((long) a[1] > TOTAL_BYTES - liveBytes) {
                    return CudaDriver.CUDA_ERROR_OUT_OF_MEMORY;
                }
                putLong(a[0], deviceAlloc((long) a[1]));
            }
            case "cuMemFree_v2" -> deviceFree((long) a[0]);
            case "cuMemGetInfo_v2" -> {
                putLong(a[0], TOTAL_BYTES - liveBytes);
                putLong(a[1], TOTAL_BYTES);
            }
            case "cuMemHostAlloc" -> putLong(a[0], host.allocate((long) a[1], 4096).address());
            case "cuMemcpyHtoDAsync_v2" -> {
                requireDevice("cuMemcpyHtoDAsync", (long) a[0], (long) a[2]);
                copies++;
            }
            case "cuMemcpyDtoHAsync_v2" -> {
                requireDevice("cuMemcpyDtoHAsync", (long) a[1], (long) a[2]);
                copies++;
            }
            case "cuEventCreate" -> {
                long event = nextHandle++;
                eventTimes.put(event, -1L);
                putLong(a[0], event);
            }
            case "cuEventRecord" -> eventTimes.put(event(name, a[0]), (queued + copies) * FAKE_WORK_NANOS);
            case "cuEventSynchronize" -> event(name, a[0]);
            case "cuEventElapsedTime_v2" -> {
                long start = eventTimes.get(event(name, a[1])), end = eventTimes.get(event(name, a[2]));
                if (start < 0 || end < 0) {
                    return CUDA_ERROR_INVALID_HANDLE; // an event never recorded
                }
                ((MemorySegment) a[0]).reinterpret(4).set(ValueLayout.JAVA_FLOAT, 0, (end - start) / 1e6f);
            }
            case "cuEventDestroy_v2" -> eventTimes.remove(event(name, a[0]));
            case "cuMemsetD8Async" -> {
                requireDevice("cuMemsetD8Async", (long) a[0], (long) a[2]);
                queued++;
            }
            case "cuModuleLoadData" -> {
                long module = nextHandle++;
                modules.put(module, ((MemorySegment) a[1]).reinterpret(Long.MAX_VALUE).getString(0));
                putLong(a[0], module);
            }
            case "cuModuleGetFunction" -> {
                long function = nextHandle++;
                String source = modules.get(((MemorySegment) a[1]).address());
                functions.put(function, new String[]{source, ((MemorySegment) a[2]).reinterpret(Long.MAX_VALUE)
                        .getString(0)});
                putLong(a[0], function);
            }
            case "cuFuncGetAttribute" -> {
                if ((int) a[1] != CudaDriver.FUNC_ATTRIBUTE_SHARED_SIZE_BYTES) {
                    throw new AssertionError("the fake CUDA driver knows no function attribute " + a[1]);
                }
                putInt(a[0], STATIC_SHARED);
            }
            case "cuFuncSetAttribute" -> {
                if ((int) a[1] != CudaDriver.FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                        || (int) a[2] + STATIC_SHARED > MAX_SHARED_OPTIN) {
                    throw new AssertionError("cuFuncSetAttribute(" + a[1] + ", " + a[2] + ") fails with"
                            + " CUDA_ERROR_INVALID_VALUE: with " + STATIC_SHARED + " static bytes the most is "
                            + (MAX_SHARED_OPTIN - STATIC_SHARED));
                }
                dynamicShared.put(((MemorySegment) a[0]).address(), (int) a[2]);
            }
            case "cuLaunchKernel" -> launch(a);
            case "cuGetErrorName", "cuGetErrorString" -> putLong(a[1], 0);
            case "cublasGemmStridedBatchedEx" -> gemm(a);
            case "cublasGetStatusName", "cublasGetStatusString", "nvrtcGetErrorString" -> {
                return MemorySegment.NULL;
            }
            case "nvrtcVersion" -> {
                putInt(a[0], 13);
                putInt(a[1], 0);
            }
            case "nvrtcCreateProgram" -> {
                long program = nextHandle++;
                programs.put(program, ((MemorySegment) a[2]).reinterpret(Long.MAX_VALUE).getString(0));
                putLong(a[0], program);
            }
            case "nvrtcGetCUBINSize" -> putLong(a[1], cubin(a[0]).length + 1L);
            case "nvrtcGetCUBIN" -> ((MemorySegment) a[1]).reinterpret(cubin(a[0]).length + 1L)
                    .setString(0, programs.get(((MemorySegment) a[0]).address()));
            case "cuStreamQuery" -> {
                if (streamsBusy) {
                    return CudaDriver.CUDA_ERROR_NOT_READY;
                }
            }
            case "cuStreamSynchronize" -> {
                int status = failNextSynchronize;
                failNextSynchronize = 0;
                if (status != 0) {
                    return status;
                }
            }
            case "cuInit", "cuStreamDestroy_v2",
                 "cuDevicePrimaryCtxRelease_v2", "cuMemFreeHost", "cuModuleUnload", "cublasSetStream_v2",
                 "cublasDestroy_v2", "nvrtcCompileProgram", "nvrtcDestroyProgram" -> {
                // nothing to do on a device that computes nothing
            }
            default -> throw new AssertionError("the fake CUDA libraries have no stand-in for " + name);
        }
        perform(name, a);
        return 0;
    }

    /**
     * Carries out call {@code name} with arguments {@code a} once its checks passed. The fake computes nothing, and
     * its device memory reads as zeros: a copy to the host writes zeros (a loss of 0, finite gradients, an open
     * update gate), not whatever the host buffer held before.
     */
    void perform(String name, Object[] a) {
        if (name.equals("cuMemcpyDtoHAsync_v2")) {
            ((MemorySegment) a[0]).reinterpret((long) a[2]).fill((byte) 0);
        }
    }

    /** Where a new device allocation of {@code bytes} starts; addresses with nothing behind them on the fake. */
    long place(long bytes) {
        long pointer = nextDevice;
        nextDevice += (bytes + 4095) / 4096 * 4096 + 4096;
        return pointer;
    }

    /** Gives back the allocation {@link #place} made at {@code pointer}. */
    void release(long pointer) {
    }

    /** The family source and kernel name of the function handle {@code function}. */
    final synchronized String[] kernelOf(long function) {
        return functions.get(function);
    }

    private byte[] cubin(Object program) {
        return programs.get(((MemorySegment) program).address()).getBytes(StandardCharsets.UTF_8);
    }

    private long deviceAlloc(long bytes) {
        if (bytes <= 0) {
            throw new AssertionError("cuMemAlloc of " + bytes + " bytes fails with CUDA_ERROR_INVALID_VALUE");
        }
        long pointer = place(bytes);
        live.put(pointer, bytes);
        liveBytes += bytes;
        return pointer;
    }

    private void deviceFree(long pointer) {
        if (!live.containsKey(pointer)) {
            throw new AssertionError("cuMemFree of 0x" + Long.toHexString(pointer) + ", which is not a live allocation");
        }
        release(pointer);
        liveBytes -= live.remove(pointer);
    }

    /** Fails unless {@code [pointer, pointer + bytes)} lies inside one live allocation. */
    private void requireDevice(String what, long pointer, long bytes) {
        var block = live.floorEntry(pointer);
        if (block == null || bytes < 0 || pointer + bytes > block.getKey() + block.getValue()) {
            throw new AssertionError(what + ": [0x" + Long.toHexString(pointer) + ", +" + bytes + ") is not inside"
                    + " a live device allocation" + (block == null ? "" : " (nearest below: 0x"
                    + Long.toHexString(block.getKey()) + " of " + block.getValue() + " bytes)"));
        }
    }

    private void launch(Object[] a) {
        long function = ((MemorySegment) a[0]).address();
        String[] sourceAndKernel = functions.get(function);
        String source = sourceAndKernel[0];
        String kernel = sourceAndKernel[1];
        int grid = (int) a[1];
        int block = (int) a[4] * (int) a[5] * (int) a[6];
        int shared = (int) a[7];
        String what = source + "'s " + kernel;
        if (grid < 1 || (int) a[2] < 1 || (int) a[3] < 1 || (int) a[2] > 65_535 || (int) a[3] > 65_535) {
            throw new AssertionError(what + ": grid " + a[1] + "x" + a[2] + "x" + a[3] + " is not launchable");
        }
        if (block < 1 || block > 1024 || block % 32 != 0) {
            throw new AssertionError(what + ": a block of " + block + " threads (kernels need a multiple of 32, at"
                    + " most 1024)");
        }
        if (shared + STATIC_SHARED > 48 * 1024 && shared > dynamicShared.getOrDefault(function, 0)) {
            throw new AssertionError(what + ": " + shared + " bytes of dynamic shared memory (and " + STATIC_SHARED
                    + " static) without raising CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES first");
        }
        if (!((MemorySegment) a[10]).equals(MemorySegment.NULL)) {
            throw new AssertionError(what + ": launched with extra options, which the fake does not read");
        }
        KernelSignature signature = signatures.computeIfAbsent(source,
                s -> KernelSignatures.of(KernelSources.family(s.replace(".cu", "")))).get(kernel);
        MemorySegment params = ((MemorySegment) a[9]).reinterpret((long) signature.params().size() * 8);
        List<KernelSignature.Param> ps = signature.params();
        for (int i = 0; i < ps.size(); i++) {
            KernelSignature.Param p = ps.get(i);
            if (p.type().kind() != KernelArgType.Kind.POINTER) {
                continue;
            }
            long pointer = value(params, i, p).get(ValueLayout.JAVA_LONG, 0);
            String param = what + " parameter " + i + " (" + p.declaration() + ")";
            if (pointer == 0) {
                continue;
            }
            requireDevice(param, pointer, 1);
            int align = POINTEE_BYTES.getOrDefault(pointee(p.declaration()), 1);
            if (pointer % align != 0) {
                throw new AssertionError(param + ": 0x" + Long.toHexString(pointer) + " is not " + align
                        + "-byte aligned (CUDA_ERROR_MISALIGNED_ADDRESS)");
            }
            if (i + 2 < ps.size() && ps.get(i + 1).declaration().endsWith("Type")
                    && ps.get(i + 2).type().equals(KernelArgType.struct(VIEW_LONGS * 8L))) {
                int dtype = value(params, i + 1, ps.get(i + 1)).get(ValueLayout.JAVA_INT, 0);
                long[] view = value(params, i + 2, ps.get(i + 2)).toArray(ValueLayout.JAVA_LONG);
                requireView(param, pointer, DType.values()[dtype], view);
            }
        }
        launches.add(new Launch(source.replace(".cu", ""), kernel, grid, block, shared));
        queued++;
    }

    private static MemorySegment value(MemorySegment params, int i, KernelSignature.Param p) {
        return params.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(p.type().bytes());
    }

    /** The pointee of a pointer parameter's declaration: {@code float} for {@code const float* __restrict__ x}. */
    private static String pointee(String declaration) {
        return POINTEES.computeIfAbsent(declaration, d -> d.substring(0, d.indexOf('*'))
                .replaceAll("\\b(const|volatile)\\b", " ").replaceAll("\\s+", " ").trim());
    }

    /** Fails unless every element a {@code View} of {@code type} values at {@code pointer} reaches is allocated. */
    private void requireView(String what, long pointer, DType type, long[] view) {
        long rank = view[0];
        long lowest = view[1];
        long highest = view[1];
        for (int d = 0; d < rank; d++) {
            long extent = (view[2 + d] - 1) * view[2 + KernelArgs.MAX_RANK + d];
            if (view[2 + d] == 0) {
                return;
            }
            if (extent < 0) {
                lowest += extent;
            } else {
                highest += extent;
            }
        }
        requireDevice(what + " viewed as " + type + " elements [" + lowest + ", " + highest + "]",
                pointer + lowest * type.byteSize(), (highest - lowest + 1) * type.byteSize());
    }

    /**
     * Checks a column-major {@code C = op(A) op(B)} as cuBLAS would: leading dimensions at least the rows stored,
     * and every batch's matrices inside their allocations.
     */
    private void gemm(Object[] a) {
        int opA = (int) a[1], opB = (int) a[2], m = (int) a[3], n = (int) a[4], k = (int) a[5];
        int batches = (int) a[20];
        if (m < 0 || n < 0 || k < 0 || batches < 1) {
            throw new AssertionError("cublasGemmStridedBatchedEx: m=" + m + " n=" + n + " k=" + k + " batches=" + batches);
        }
        matrix("A", a[7], (int) a[8], (int) a[9], (long) a[10], opA == Cublas.OP_N ? m : k,
                opA == Cublas.OP_N ? k : m, batches);
        matrix("B", a[11], (int) a[12], (int) a[13], (long) a[14], opB == Cublas.OP_N ? k : n,
                opB == Cublas.OP_N ? n : k, batches);
        matrix("C", a[16], (int) a[17], (int) a[18], (long) a[19], m, n, batches);
        queued++;
    }

    private void matrix(String name, Object pointer, int type, int ld, long stride, int rows, int cols, int batches) {
        long elementBytes = switch (type) {
            case Cublas.R_32F -> 4;
            case Cublas.R_16F, Cublas.R_16BF -> 2;
            default -> throw new AssertionError("cublasGemmStridedBatchedEx: unknown data type " + type + " of " + name);
        };
        if (ld < Math.max(1, rows)) {
            throw new AssertionError("cublasGemmStridedBatchedEx: ld" + name + "=" + ld + " < " + rows
                    + " rows (CUBLAS_STATUS_INVALID_VALUE)");
        }
        if (rows > 0 && cols > 0) {
            long last = stride * (batches - 1) + (long) ld * (cols - 1) + rows;
            requireDevice("cublasGemmStridedBatchedEx " + name + " (" + rows + "x" + cols + ", ld " + ld + ", stride "
                    + stride + ", " + batches + " batches)", ((MemorySegment) pointer).address(), last * elementBytes);
        }
    }

    /** The handle of a live event, which {@code name} was handed. */
    private long event(String name, Object handle) {
        long event = ((MemorySegment) handle).address();
        if (!eventTimes.containsKey(event)) {
            throw new AssertionError(name + " of 0x" + Long.toHexString(event) + ", which is not a live event");
        }
        return event;
    }

    /** Sets the time of {@code event}: {@link EmulatedCuda} stamps it when the stream reaches it. */
    final synchronized void stampEvent(long event, long nanos) {
        eventTimes.put(event, nanos);
    }

    private static void putInt(Object out, int v) {
        ((MemorySegment) out).reinterpret(4).set(ValueLayout.JAVA_INT, 0, v);
    }

    private static void putLong(Object out, long v) {
        ((MemorySegment) out).reinterpret(8).set(ValueLayout.JAVA_LONG, 0, v);
    }
}
