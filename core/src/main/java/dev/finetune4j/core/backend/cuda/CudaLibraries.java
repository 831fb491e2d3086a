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
            LibraryFinder.load("cuBLASLt", List.of("libcublasLt.so.13", "libcublasLt.so.12"), folders, extra, arena);
            Cublas cublas = new Cublas(LibraryFinder.load("cuBLAS",
                    List.of("libcublas.so.13", "libcublas.so.12"), folders, extra, arena));
            Nvrtc nvrtc = new Nvrtc(LibraryFinder.load("NVRTC",
                    List.of("libnvrtc.so.13", "libnvrtc.so.12"), folders, extra, arena));
            return new CudaLibraries(arena, driver, cublas, nvrtc);
        } catch (LibraryFinder.NotFound | RuntimeException e) {
            arena.close();
            throw e;
        }
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
