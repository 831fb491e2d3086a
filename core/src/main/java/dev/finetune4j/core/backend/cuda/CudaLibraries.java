package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The loaded CUDA libraries and their bindings; closing unloads them. The driver, cuBLAS (after cuBLASLt, which it
 * links against) and NVRTC; the CUDA runtime is not needed.
 */
final class CudaLibraries implements AutoCloseable {
    /** The NVRTC versions finetune4j can use, newest first. */
    static final List<String> NVRTC_SONAMES = List.of("libnvrtc.so.13", "libnvrtc.so.12");

    private final Arena arena;
    private final CudaDriver driver;
    private final Cublas cublas;
    private final Nvrtc nvrtc;

    private CudaLibraries(Arena arena, CudaDriver driver, Cublas cublas, Nvrtc nvrtc) {
        this.arena = arena;
        this.driver = driver;
        this.cublas = cublas;
        this.nvrtc = nvrtc;
    }

    /**
     * Loads the libraries, looking where {@link LibraryFinder} says.
     *
     * @throws LibraryFinder.NotFound naming the first library that is missing
     */
    static CudaLibraries load(Map<String, String> env) throws LibraryFinder.NotFound {
        List<Path> folders = LibraryFinder.usualFolders(env);
        String extra = env.get(LibraryFinder.ENV);
        Arena arena = Arena.ofShared();
        try {
            CudaDriver driver = new CudaDriver(LibraryFinder.load("the CUDA driver (libcuda)",
                    List.of("libcuda.so.1"), folders, extra, arena));
            Cublas cublas = loadCublas(folders, extra, arena);
            Nvrtc nvrtc = loadNvrtc(folders, extra, arena);
            return new CudaLibraries(arena, driver, cublas, nvrtc);
        } catch (LibraryFinder.NotFound | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** cuBLAS, after the cuBLASLt it links against (so that one found in a folder off the loader's path links). */
    static Cublas loadCublas(List<Path> folders, String extra, Arena arena) throws LibraryFinder.NotFound {
        LibraryFinder.load("cuBLASLt", List.of("libcublasLt.so.13", "libcublasLt.so.12"), folders, extra, arena);
        return new Cublas(LibraryFinder.load("cuBLAS", List.of("libcublas.so.13", "libcublas.so.12"), folders, extra,
                arena));
    }

    /**
     * NVRTC, with its builtins library when NVRTC came from a folder: NVRTC opens the builtins by soname when it
     * first compiles, which fails for a folder that is not on the loader's path (a pip wheel's).
     */
    static Nvrtc loadNvrtc(List<Path> folders, String extra, Arena arena) throws LibraryFinder.NotFound {
        LibraryFinder.Loaded nvrtc = LibraryFinder.find("NVRTC", NVRTC_SONAMES, folders, extra, arena);
        if (nvrtc.folder() != null) {
            LibraryFinder.preload(nvrtc.folder(), "libnvrtc-builtins.so.*", arena);
        }
        return new Nvrtc(nvrtc.lookup());
    }

    CudaDriver driver() {
        return driver;
    }

    Cublas cublas() {
        return cublas;
    }

    Nvrtc nvrtc() {
        return nvrtc;
    }

    @Override
    public void close() {
        arena.close();
    }
}
