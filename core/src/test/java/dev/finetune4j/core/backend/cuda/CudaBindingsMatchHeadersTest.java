package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every C function the FFM bindings (CudaDriver, Cublas, Nvrtc, Nccl) declare is the symbol a C program compiled against
 * the CUDA headers would call (after the headers' {@code #define cuX cuX_v2} renames), with the same number of
 * arguments and, for each argument and the result, the same size and kind: pointer, 8-, 32- or 64-bit integer,
 * float, struct by value. A wrong descriptor is silent corruption or a crash on the GPU; these checks need only the headers and
 * cpp. Each header is looked for in /usr/local/cuda/include and next to the library folders the backend searches
 * (e.g. the include folder of a pip wheel whose lib folder FINETUNE4J_CUDA_LIBS names); a missing one skips its test.
 */
class CudaBindingsMatchHeadersTest {

    /** The (name, descriptor) of every function a binding class declares, as it asks for their handles. */
    private static Map<String, FunctionDescriptor> declared(Function<NativeFunctions, ?> binding) {
        Map<String, FunctionDescriptor> out = new LinkedHashMap<>();
        binding.apply(new NativeFunctions((name, descriptor) -> {
            out.put(name, descriptor);
            return MethodHandles.empty(descriptor.toMethodType());
        }));
        return out;
    }

    @Test
    void theDriverBindingMatchesCudaH() throws Exception {
        CHeader cuda = header("cuda.h");
        assertEquals(List.of(), mismatches(cuda, declared(CudaDriver::new)));
        assertEquals(List.of(), mismatches(cuda, declared(f -> new CudaEvents(f, null))));
        assertEquals(List.of(), constants(cuda, Map.of("CUDA_ERROR_OUT_OF_MEMORY", CudaDriver.CUDA_ERROR_OUT_OF_MEMORY,
                "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR", CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR", CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                "CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN",
                CudaDriver.ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES", CudaDriver.FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                "CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES", CudaDriver.FUNC_ATTRIBUTE_SHARED_SIZE_BYTES,
                "CU_STREAM_NON_BLOCKING", CudaDriver.STREAM_NON_BLOCKING,
                "CUDA_ERROR_NOT_READY", CudaDriver.CUDA_ERROR_NOT_READY,
                "CU_EVENT_DEFAULT", CudaEvents.EVENT_DEFAULT)));
    }

    @Test
    void theNvrtcBindingMatchesNvrtcH() throws Exception {
        assertEquals(List.of(), mismatches(header("nvrtc.h"), declared(Nvrtc::new)));
    }

    @Test
    void theCublasBindingMatchesCublasV2H() throws Exception {
        CHeader cublas = header("cublas_v2.h");
        assertEquals(List.of(), mismatches(cublas, declared(Cublas::new)));
        assertEquals(List.of(), constants(cublas, Map.of("CUDA_R_32F", Cublas.R_32F, "CUDA_R_16F", Cublas.R_16F,
                "CUDA_R_16BF", Cublas.R_16BF, "CUBLAS_OP_N", Cublas.OP_N, "CUBLAS_OP_T", Cublas.OP_T,
                "CUBLAS_COMPUTE_32F", Cublas.COMPUTE_32F, "CUBLAS_GEMM_DEFAULT", Cublas.GEMM_DEFAULT)));
    }

    /**
     * nccl.h, found next to NCCL's lib folder (pip's {@code nvidia/nccl/include}); it includes the CUDA runtime's
     * headers, and where they are not installed a stand-in that declares the one type it uses, cudaStream_t, is
     * put last on the include path.
     */
    @Test
    void theNcclBindingMatchesNcclH(@TempDir Path stubs) throws Exception {
        Files.writeString(stubs.resolve("cuda_runtime.h"), "typedef struct CUstream_st *cudaStream_t;\n");
        Files.writeString(stubs.resolve("cuda_fp16.h"), "");
        CHeader nccl = header("nccl.h", stubs);
        assertEquals(List.of(), mismatches(nccl, declared(Nccl::new)));
        assertEquals(List.of(), constants(nccl, Map.of("ncclSuccess", Nccl.SUCCESS, "ncclInProgress", Nccl.IN_PROGRESS,
                "ncclUint8", Nccl.UINT8, "ncclFloat32", Nccl.FLOAT32, "ncclSum", Nccl.SUM)));
        Path file = includeFolders().stream().map(i -> i.resolve("nccl.h")).filter(Files::isRegularFile).findFirst()
                .orElseThrow();
        Matcher idBytes = Pattern.compile("#define\\s+NCCL_UNIQUE_ID_BYTES\\s+(\\d+)").matcher(Files.readString(file));
        assertTrue(idBytes.find(), file + " defines no NCCL_UNIQUE_ID_BYTES");
        assertEquals(Integer.parseInt(idBytes.group(1)), Nccl.UNIQUE_ID_BYTES);
        assertEquals(Nccl.UNIQUE_ID_BYTES, Nccl.UNIQUE_ID.byteSize());
    }

    @Test
    void theDataTypesOfCublasMatchLibraryTypesH() throws Exception {
        assertEquals(List.of(), constants(header("library_types.h"), Map.of("CUDA_R_32F", Cublas.R_32F,
                "CUDA_R_16F", Cublas.R_16F, "CUDA_R_16BF", Cublas.R_16BF)));
    }

    /** Each declared function against the header: symbol, argument count, each argument's and the result's kind. */
    private static List<String> mismatches(CHeader header, Map<String, FunctionDescriptor> declared) {
        List<String> out = new ArrayList<>();
        declared.forEach((name, descriptor) -> {
            CHeader.Prototype p = header.prototype(name);
            if (p == null) {
                List<String> versions = header.declaredStartingWith(name + "_v");
                out.add(name + " is not declared" + (versions.isEmpty() ? "" : "; a C program calls " + versions));
                return;
            }
            List<CHeader.Kind> args = descriptor.argumentLayouts().stream().map(l -> kind(l)).toList();
            if (!args.equals(p.params())) {
                out.add(name + " takes " + p.params() + " (" + p.text() + "), the binding passes " + args);
            }
            CHeader.Kind result = descriptor.returnLayout().map(l -> kind(l)).orElse(CHeader.Kind.VOID);
            if (result != p.returns()) {
                out.add(name + " returns " + p.returns() + " (" + p.text() + "), the binding reads " + result);
            }
        });
        return out;
    }

    private static List<String> constants(CHeader header, Map<String, Integer> expected) {
        List<String> out = new ArrayList<>();
        expected.forEach((name, value) -> {
            Long actual = header.enumerator(name);
            if (actual == null || actual != value.longValue()) {
                out.add(name + " is " + actual + " in the header, " + value + " in the binding");
            }
        });
        return out;
    }

    private static CHeader.Kind kind(MemoryLayout layout) {
        if (layout instanceof AddressLayout) {
            return CHeader.Kind.POINTER;
        }
        if (layout instanceof StructLayout) {
            return CHeader.Kind.STRUCT;
        }
        Class<?> carrier = ((ValueLayout) layout).carrier();
        if (carrier == byte.class) {
            return CHeader.Kind.I8;
        } else if (carrier == short.class) {
            return CHeader.Kind.I16;
        } else if (carrier == int.class) {
            return CHeader.Kind.I32;
        } else if (carrier == long.class) {
            return CHeader.Kind.I64;
        } else if (carrier == float.class) {
            return CHeader.Kind.F32;
        } else if (carrier == double.class) {
            return CHeader.Kind.F64;
        }
        throw new IllegalArgumentException("no C kind for " + layout);
    }

    /**
     * {@code name} preprocessed from the first include folder that has it, with {@code fallbacks} last on the
     * include path; skips the test when no folder has it.
     */
    private static CHeader header(String name, Path... fallbacks) throws Exception {
        Optional<Path> cpp = Tools.onPath("cpp");
        Assumptions.assumeTrue(cpp.isPresent(), "cpp is not on the PATH: the CUDA headers cannot be read");
        List<Path> includes = includeFolders();
        Optional<Path> file = includes.stream().map(i -> i.resolve(name)).filter(Files::isRegularFile).findFirst();
        Assumptions.assumeTrue(file.isPresent(), () -> name + " is in none of " + includes);
        List<Path> path = new ArrayList<>(includes.stream().filter(Files::isDirectory).toList());
        path.addAll(List.of(fallbacks));
        return CHeader.preprocess(cpp.get(), file.get(), path);
    }

    private static List<Path> includeFolders() {
        Set<Path> out = new LinkedHashSet<>();
        out.add(Path.of("/usr/local/cuda/include"));
        String extra = System.getenv(LibraryFinder.ENV);
        List<Path> libs = new ArrayList<>();
        if (extra != null) {
            for (String folder : extra.split(File.pathSeparator)) {
                if (!folder.isBlank()) {
                    libs.add(Path.of(folder));
                }
            }
        }
        libs.addAll(LibraryFinder.usualFolders(System.getenv()));
        for (Path lib : libs) {
            out.add(lib.toAbsolutePath().resolveSibling("include"));
        }
        return List.copyOf(out);
    }
}
