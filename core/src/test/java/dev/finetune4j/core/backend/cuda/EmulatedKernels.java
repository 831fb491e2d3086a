package dev.finetune4j.core.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Every kernel family compiled with g++ against emulator/cuda_emulation.h into one shared library, whose
 * {@code emu_launch(family, kernel, grid, block, sharedBytes, args)} runs a kernel's grid on the CPU from the same
 * parameter array cuLaunchKernel receives. Each family is wrapped in its own namespace (its {@code extern "C"}
 * dropped, every header included once above them), and each kernel gets a launcher that checks, at compile time,
 * KernelSignatures' parameter count and sizes against the compiler's. Built with {@link #SANITIZERS} once per source
 * text, compiler command and user in the temporary folder, where the test runs of every module find it.
 */
final class EmulatedKernels {
    private static final Pattern EXTERN_SHARED = Pattern.compile("extern __shared__ (\\w+) (\\w+)\\[\\];");
    private static final Pattern DEFINE = Pattern.compile("^#define (\\w+)", Pattern.MULTILINE);
    private static final Pattern INCLUDE = Pattern.compile("^#include \"[\\w.]+\"\\n", Pattern.MULTILINE);
    private static final String HEADER = "cuda_emulation.h";
    /**
     * g++'s undefined-behaviour checks that stand in for faults a GPU raises and a CPU does not: a misaligned vector
     * or 32-bit read (CUDA_ERROR_MISALIGNED_ADDRESS on the card; x86 reads it silently), an index past a fixed-size
     * array (registers and fragments), a negative shift, an int offset that overflows. A violation aborts the
     * process with the source line, so that it fails the test run instead of passing unnoticed.
     */
    static final List<String> SANITIZERS = List.of("-fsanitize=alignment,bounds,null,shift,signed-integer-overflow",
            "-fno-sanitize-recover=all");

    private final MethodHandle launch;

    private EmulatedKernels(MethodHandle launch) {
        this.launch = launch;
    }

    /**
     * Family {@code family} ({@code "norms"}) as the emulation compiles it: its dynamic shared memory a pointer to
     * the emulator's NaN-poisoned buffer, without its includes (the includer puts the emulation header and every
     * family's headers first, {@link #headers()}) and without {@code extern "C"}, so that families can share a
     * translation unit.
     */
    static String emulationSource(String family) {
        String source = family + ".cu";
        String text = INCLUDE.matcher(KernelSources.family(family).source()).replaceAll("");
        text = EXTERN_SHARED.matcher(text.replace("extern \"C\" ", ""))
                .replaceAll(m -> Matcher.quoteReplacement(m.group(1) + "* " + m.group(2) + " = reinterpret_cast<"
                        + m.group(1) + "*>(emu::g_shared);"));
        if (text.contains("extern __shared__")) {
            throw new IllegalStateException(source + " declares dynamic shared memory in a form the emulation does"
                    + " not rewrite: update EmulatedKernels.EXTERN_SHARED");
        }
        return text;
    }

    /** The emulation header's text. */
    static byte[] header() {
        try (InputStream in = EmulatedKernels.class.getResourceAsStream("emulator/" + HEADER)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource emulator/" + HEADER);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Every header some family includes, by include name, common.cuh first: included once at the top of a
     * translation unit of {@link #emulationSource}s.
     */
    static Map<String, String> headers() {
        Map<String, String> all = new LinkedHashMap<>();
        KernelSources.FAMILIES.forEach(f -> all.putAll(KernelSources.family(f).headers()));
        return all;
    }

    /** Writes {@link #headers()} and the emulation header into {@code dir}. */
    static void writeHeaders(Path dir) throws IOException {
        Files.write(dir.resolve(HEADER), header());
        for (Map.Entry<String, String> h : headers().entrySet()) {
            Files.writeString(dir.resolve(h.getKey()), h.getValue());
        }
    }

    /** Compiles (or finds already compiled) and loads the library with g++ at {@code gpp}. */
    static EmulatedKernels build(Path gpp) {
        String library = librarySource();
        // Kernels read bf16 pairs as 32-bit words and floats as 16-byte vectors, as CUDA allows. -march=native: the
        // library runs only on this machine, and the kernels' fmaf becomes one instruction instead of a call into libm
        // (-ffp-contract=off still leaves every other a * b + c as two roundings, as the kernels' --fmad=false).
        List<String> command = new ArrayList<>(List.of(gpp.toString(), "-std=c++17", "-O2", "-march=native",
                "-ffp-contract=off", "-fno-strict-aliasing", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall",
                "-Wno-unknown-pragmas", "-Wno-unused-function"));
        command.addAll(SANITIZERS);
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "finetune4j-emulated-cuda-"
                + System.getProperty("user.name")).resolve(sha256(String.join(" ", command)
                + library + new String(header(), StandardCharsets.UTF_8) + String.join("\n", headers().values())));
        Path so = dir.resolve("libkernels.so");
        try {
            if (!Files.exists(so)) {
                // each test JVM builds in a folder of its own (modules' test runs may overlap), then renames the
                // library into place: a reader sees the whole file or none
                Path build = Files.createTempDirectory(Files.createDirectories(dir), "build-");
                writeHeaders(build);
                Files.writeString(build.resolve("kernels.cpp"), library);
                command.addAll(List.of("-o", "libkernels.so", "kernels.cpp"));
                Process p = new ProcessBuilder(command).directory(build.toFile()).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("g++ could not build the emulated kernels in " + build + ":\n"
                            + log);
                }
                Files.move(build.resolve("libkernels.so"), so, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                try (Stream<Path> sources = Files.list(build)) {
                    for (Path source : sources.toList()) {
                        Files.delete(source);
                    }
                }
                Files.delete(build);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the emulated kernels in " + dir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the emulated kernels", e);
        }
        SymbolLookup lookup = SymbolLookup.libraryLookup(so.toAbsolutePath(), Arena.global());
        MethodHandle launch = Linker.nativeLinker().downcallHandle(lookup.find("emu_launch").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        return new EmulatedKernels(launch);
    }

    /**
     * Runs {@code kernel} of {@code source} over {@code grid} blocks of {@code block} threads with {@code sharedBytes}
     * of dynamic shared memory and the parameter array {@code params}, to completion.
     *
     * @throws AssertionError when a block cannot finish (a barrier that not every thread reaches)
     */
    void launch(String source, String kernel, int grid, int block, int sharedBytes, MemorySegment params) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment why = (MemorySegment) launch.invokeExact(arena.allocateFrom(source),
                    arena.allocateFrom(kernel), grid, block, sharedBytes, params);
            if (!why.equals(MemorySegment.NULL)) {
                throw new AssertionError(source + "'s " + kernel + " (grid " + grid + ", block " + block + ", "
                        + sharedBytes + " shared bytes) under emulation: " + why.reinterpret(1000).getString(0));
            }
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** One translation unit: the emulation header, the headers, each family in a namespace, and emu_launch. */
    private static String librarySource() {
        StringBuilder out = new StringBuilder("#include \"" + HEADER + "\"\n");
        headers().keySet().forEach(h -> out.append("#include \"").append(h).append("\"\n"));
        List<String> launches = new ArrayList<>();
        for (String family : KernelSources.FAMILIES) {
            String source = family + ".cu";
            String text = emulationSource(family);
            out.append("namespace family_").append(family).append(" {\n").append(text).append("\n}\n");
            DEFINE.matcher(text).results().forEach(m -> out.append("#undef ").append(m.group(1)).append('\n'));
            Map<String, KernelSignature> kernels = KernelSignatures.of(KernelSources.family(family));
            kernels.values().forEach(k -> launches.add("    if (std::strcmp(family, \"" + source
                    + "\") == 0 && std::strcmp(kernel, \"" + k.kernel() + "\") == 0) return emu::launch_kernel<"
                    + k.params().stream().map(p -> Long.toString(p.type().bytes())).collect(Collectors.joining(", "))
                    + ">(family_" + family + "::" + k.kernel() + ", grid, block, shared, args);"));
        }
        return out + "extern \"C\" __attribute__((visibility(\"default\"))) const char* emu_launch(const char* family,"
                + " const char* kernel, unsigned grid, unsigned block, unsigned shared, void** args) {\n"
                + String.join("\n", launches) + "\n    return \"no such kernel in the emulated library\";\n}\n";
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
