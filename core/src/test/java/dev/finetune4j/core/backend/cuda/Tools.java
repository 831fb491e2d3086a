package dev.finetune4j.core.backend.cuda;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Finds the command-line tools (nvcc, cpp) that some CPU-only checks of the CUDA backend use when present, and runs
 * nvcc over a kernel family.
 */
final class Tools {
    private Tools() {
    }

    /** The executable {@code tool} on the PATH, if any. */
    static Optional<Path> onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(d, tool);
            if (!d.isEmpty() && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** What nvcc printed over a family, and its exit code. */
    record NvccRun(int exitCode, String log) {
    }

    /**
     * One family's PTX ({@code --fmad=false}, as NVRTC compiles it, but with NVVM's optimizer off): nvcc's output, and
     * the PTX text when it compiled.
     */
    record Ptx(NvccRun run, String text) {
    }

    private static Map<String, Ptx> everyFamilyPtx; // guarded by Tools.class

    /**
     * Every family compiled to PTX with {@code nvcc}, once per test JVM (the compile checks and the parameter-size
     * check read the same output), the families in parallel. NVVM's optimizer is off ({@code -Xcicc -O0}): these
     * checks read the front end's diagnostics and the entries' parameters, which it does not change, and it took
     * seven in eight parts of the time (the register check compiles the attention families fully).
     */
    static synchronized Map<String, Ptx> everyFamilyPtx(Path nvcc) throws IOException {
        if (everyFamilyPtx == null) {
            Path dir = Files.createDirectories(Path.of("target", "nvcc-ptx").toAbsolutePath());
            everyFamilyPtx = KernelSources.FAMILIES.parallelStream().collect(Collectors.toMap(f -> f, f -> {
                NvccRun run = nvccInOwnFolder(nvcc, dir, f, "-ptx", ".ptx", "-Xcicc", "-O0");
                try {
                    return new Ptx(run, run.exitCode() == 0 ? Files.readString(dir.resolve(f).resolve(f + ".ptx")) : "");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }));
        }
        return everyFamilyPtx;
    }

    /**
     * nvcc with {@code --fmad=false}, {@code mode} and {@code more} on one family in a folder of its own under
     * {@code dir} (the families share header names, and calls may run in parallel), writing {@code family + suffix}.
     */
    static NvccRun nvccInOwnFolder(Path nvcc, Path dir, String family, String mode, String suffix, String... more) {
        try {
            Path own = Files.createDirectories(dir.resolve(family));
            List<String> args = new ArrayList<>(List.of("--fmad=false", mode));
            args.addAll(List.of(more));
            args.addAll(List.of("-o", own.resolve(family + suffix).toString()));
            return nvcc(nvcc, own, family, args.toArray(String[]::new));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while nvcc compiled " + family, e);
        }
    }

    /**
     * Writes {@code family}.cu and the headers it includes into {@code dir} and compiles the family with {@code nvcc} and
     * {@code args} (the output file among them), for sm_90 in C++17 as NVRTC compiles it.
     */
    static NvccRun nvcc(Path nvcc, Path dir, String family, String... args) throws IOException, InterruptedException {
        KernelSources.Family sources = KernelSources.family(family);
        for (var header : sources.headers().entrySet()) {
            Files.writeString(dir.resolve(header.getKey()), header.getValue());
        }
        Path source = Files.writeString(dir.resolve(sources.file()), sources.source());
        List<String> command = new ArrayList<>(List.of(nvcc.toString(), "-arch=sm_90", "--std=c++17"));
        command.addAll(List.of(args));
        command.add(source.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("nvcc did not finish on " + family + ".cu");
        }
        return new NvccRun(p.exitValue(), log);
    }
}
