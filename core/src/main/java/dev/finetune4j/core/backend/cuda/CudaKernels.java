package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel families compiled for this card (on first use, through NVRTC and the {@link KernelCache}) and their
 * launches on the context's stream.
 */
final class CudaKernels implements AutoCloseable {
    /** Block size of the kernels: a multiple of 32, as the block reductions of common.cuh need. */
    static final int BLOCK = 256;
    /** Grid-stride kernels use at most this many blocks. */
    private static final long MAX_GRID = 65_535L * 4;
    /** Shared memory (static and dynamic) a block may use without raising the kernel's limit. */
    private static final int DEFAULT_SHARED = 48 * 1024;

    private final CudaDriver driver;
    private final Nvrtc nvrtc;
    private final CudaContext context;
    private final KernelCache cache;
    private final String architecture;
    private final int computeCapabilityMajor;
    private final List<String> options;
    private final int maxShared;
    private final boolean syncEachLaunch;
    private final Map<String, MemorySegment> modules = new HashMap<>();
    private final Map<String, Map<String, Function>> functions = new HashMap<>();
    private final Map<String, Map<String, KernelSignature>> signatures = new HashMap<>();
    private long launches; // guarded by this

    /** With {@code syncEachLaunch} every launch waits for its kernel ({@link CudaChecks#syncEachLaunch()}). */
    CudaKernels(CudaDriver driver, Nvrtc nvrtc, CudaContext context, KernelCache cache, boolean syncEachLaunch) {
        this.syncEachLaunch = syncEachLaunch;
        this.driver = driver;
        this.nvrtc = nvrtc;
        this.context = context;
        this.cache = cache;
        int major = driver.attribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, context.device());
        int minor = driver.attribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, context.device());
        this.architecture = "sm_" + major + minor;
        this.computeCapabilityMajor = major;
        this.options = compilerOptions(architecture);
        this.maxShared = driver.attribute(CudaDriver.ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, context.device());
    }

    /**
     * NVRTC options: the card's architecture, and no fused multiply-adds, so that elementwise results round as the
     * CPU's do.
     */
    static List<String> compilerOptions(String architecture) {
        return List.of("--gpu-architecture=" + architecture, "--std=c++17", "--fmad=false");
    }

    /** The card's architecture, {@code "sm_90"}. */
    String architecture() {
        return architecture;
    }

    /** Kernels launched so far (products through cuBLAS not included). */
    synchronized long launches() {
        return launches;
    }

    /** Whether the card's tensor cores multiply bf16 (mma.sync m16n8k16 with bf16 operands: sm_80 and later). */
    boolean hasBf16TensorCores() {
        return computeCapabilityMajor >= 8;
    }

    /** Shared memory (static and dynamic) a block may use on this card once a kernel's limit is raised (opt-in). */
    int maxSharedBytes() {
        return maxShared;
    }

    /** Blocks for a grid-stride loop over {@code n} elements. */
    static int gridFor(long n) {
        return (int) Math.max(1, Math.min(MAX_GRID, (n + BLOCK - 1) / BLOCK));
    }

    /**
     * Launches {@code family}'s {@code kernel} over {@code n} elements with a grid-stride loop (nothing for none,
     * but the arguments are checked all the same).
     */
    void launchOver(String family, String kernel, long n, KernelArgs args) {
        launch(family, kernel, n > 0 ? gridFor(n) : 0, 0, args);
    }

    /**
     * Launches {@code grid} blocks of {@link #BLOCK} threads with {@code sharedBytes} of dynamic shared memory.
     *
     * @throws IllegalArgumentException when {@code args} do not match the kernel's C parameters (checked before
     *                                  anything reaches the driver, since the driver cannot tell)
     */
    synchronized void launch(String family, String kernel, long grid, int sharedBytes, KernelArgs args) {
        signature(family, kernel).check(family, args.types());
        if (grid <= 0) {
            return;
        }
        if (grid > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(kernel + ": " + grid + " blocks is more than a grid can have");
        }
        context.enter();
        Function fn = function(family, kernel);
        reserveSharedMemory(fn, sharedBytes);
        context.queue(fn::name, () -> driver.launch(kernel, fn.handle, (int) grid, BLOCK, sharedBytes,
                context.stream(), args.pointers()));
        launches++;
        if (syncEachLaunch) {
            try {
                driver.streamSynchronize(context.stream());
            } catch (CudaException e) {
                throw new CudaException(family + ".cu's " + kernel + " (grid " + grid + ", " + sharedBytes
                        + " bytes of dynamic shared memory) failed on the device: " + e.getMessage(), e.status());
            }
        }
    }

    /**
     * Raises the kernel's dynamic shared memory limit when its static shared memory (the block reductions'
     * partials) plus {@code sharedBytes} is more than a launch gets by default; the driver refuses a launch over it.
     */
    private void reserveSharedMemory(Function fn, int sharedBytes) {
        long total = (long) fn.staticShared + sharedBytes;
        if (total <= DEFAULT_SHARED || sharedBytes <= fn.dynamicSharedLimit) {
            return;
        }
        if (total > maxShared) {
            throw new IllegalArgumentException(fn.name + " needs " + sharedBytes + " bytes of dynamic shared memory on"
                    + " top of its " + fn.staticShared + " static bytes, the card has " + maxShared + " per block; run"
                    + " this shape on the CPU backend or a newer card");
        }
        driver.setFunctionAttribute(fn.handle, CudaDriver.FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
        fn.dynamicSharedLimit = sharedBytes;
    }

    /** The parameters of {@code family}'s {@code kernel}, parsed from its source on first use. */
    private KernelSignature signature(String family, String kernel) {
        Map<String, KernelSignature> kernels = signatures.computeIfAbsent(family,
                f -> KernelSignatures.of(KernelSources.family(f)));
        KernelSignature signature = kernels.get(kernel);
        if (signature == null) {
            throw new IllegalArgumentException(family + ".cu has no kernel " + kernel + "; its kernels are "
                    + kernels.keySet());
        }
        return signature;
    }

    /**
     * A loaded kernel, the static shared memory its code declares and the dynamic shared memory it was allowed so
     * far (guarded by the CudaKernels).
     */
    private static final class Function {
        final String name;
        final MemorySegment handle;
        final int staticShared;
        int dynamicSharedLimit;

        String name() {
            return name;
        }

        Function(String name, MemorySegment handle, int staticShared) {
            this.name = name;
            this.handle = handle;
            this.staticShared = staticShared;
        }
    }

    private Function function(String family, String kernel) {
        return functions.computeIfAbsent(family, f -> new HashMap<>()).computeIfAbsent(kernel, k -> {
            MemorySegment handle = driver.function(modules.computeIfAbsent(family, this::load), kernel);
            return new Function(family + "." + kernel, handle,
                    driver.functionAttribute(handle, CudaDriver.FUNC_ATTRIBUTE_SHARED_SIZE_BYTES));
        });
    }

    private MemorySegment load(String name) {
        KernelSources.Family family = KernelSources.family(name);
        String key = KernelCache.key(family.source(), family.headerText(), architecture, options, nvrtc.version());
        byte[] cubin = cache.cubin(name, key, () -> nvrtc.compile(family.file(), family.source(), family.headers(),
                options));
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment image = arena.allocate(cubin.length + 1L, 16);
            MemorySegment.copy(MemorySegment.ofArray(cubin), 0, image, 0, cubin.length);
            return driver.moduleLoad(image);
        }
    }

    @Override
    public synchronized void close() {
        context.enter();
        modules.values().forEach(driver::moduleUnload);
        modules.clear();
        functions.clear();
    }
}
