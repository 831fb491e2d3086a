package dev.finetune4j.core.backend.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds a shared library of the CUDA stack: first by soname through the dynamic loader's own search
 * ({@code LD_LIBRARY_PATH}, the ld cache), then in the usual CUDA and pip {@code nvidia/*}{@code /lib} folders, then
 * in the folders {@code FINETUNE4J_CUDA_LIBS} lists (separated by ':').
 */
final class LibraryFinder {
    /** The environment variable naming extra library folders. */
    static final String ENV = "FINETUNE4J_CUDA_LIBS";

    private static final List<String> CUDA_FOLDERS = List.of("/usr/local/cuda/targets/x86_64-linux/lib",
            "/usr/local/cuda/lib64", "/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu");
    private static final List<String> PYTHON_ROOTS = List.of("/usr/lib", "/usr/local/lib", "/opt/conda/lib");

    private LibraryFinder() {
    }

    /** A library that could not be found; the message lists every place that was tried. */
    static final class NotFound extends Exception {
        NotFound(String message) {
            super(message);
        }
    }

    /**
     * Every place to try, in order: each soname alone (the loader's search), then each folder with each soname,
     * then each folder of {@code envValue} with each soname.
     */
    static List<String> candidates(List<String> sonames, List<Path> folders, String envValue) {
        List<String> out = new ArrayList<>(sonames);
        for (Path folder : folders) {
            sonames.forEach(s -> out.add(folder.resolve(s).toString()));
        }
        for (String dir : envFolders(envValue)) {
            sonames.forEach(s -> out.add(Path.of(dir).resolve(s).toString()));
        }
        return out;
    }

    /** The usual CUDA folders and the {@code nvidia/*}{@code /lib} folders of pip packages that exist here. */
    static List<Path> usualFolders(Map<String, String> env) {
        List<Path> out = new ArrayList<>();
        CUDA_FOLDERS.forEach(f -> out.add(Path.of(f)));
        List<Path> pythonLibs = new ArrayList<>();
        PYTHON_ROOTS.forEach(r -> pythonLibs.add(Path.of(r)));
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            if (env.get(var) != null) {
                pythonLibs.add(Path.of(env.get(var), "lib"));
            }
        }
        if (env.get("HOME") != null) {
            pythonLibs.add(Path.of(env.get("HOME"), ".local", "lib"));
        }
        children(Path.of("/opt"), "*").forEach(p -> pythonLibs.add(p.resolve(".venv").resolve("lib")));
        for (Path lib : pythonLibs) {
            for (Path python : children(lib, "python3*")) {
                for (String packages : List.of("site-packages", "dist-packages")) {
                    out.addAll(children(python.resolve(packages).resolve("nvidia"), "*").stream()
                            .map(p -> p.resolve("lib")).filter(Files::isDirectory).toList());
                }
            }
        }
        return out;
    }

    /**
     * A loaded library and where it was found.
     *
     * @param folder the folder it was loaded from, or null when the loader found it by soname
     */
    record Loaded(SymbolLookup lookup, Path folder) {
    }

    /**
     * Loads the first candidate that the loader accepts, into {@code arena}.
     *
     * @throws NotFound naming the library, the places tried and what to do
     */
    static SymbolLookup load(String what, List<String> sonames, List<Path> folders, String envValue, Arena arena)
            throws NotFound {
        return find(what, sonames, folders, envValue, arena).lookup();
    }

    /** {@link #load}, also saying where the library was found. */
    static Loaded find(String what, List<String> sonames, List<Path> folders, String envValue, Arena arena)
            throws NotFound {
        List<String> tried = candidates(sonames, folders, envValue);
        for (String candidate : tried) {
            boolean bare = !candidate.contains("/");
            if (!bare && !Files.exists(Path.of(candidate))) {
                continue;
            }
            try {
                return bare ? new Loaded(SymbolLookup.libraryLookup(candidate, arena), null)
                        : new Loaded(SymbolLookup.libraryLookup(Path.of(candidate), arena), Path.of(candidate).getParent());
            } catch (IllegalArgumentException notLoadable) {
                // not on the loader's path (or not loadable): try the next place
            }
        }
        throw new NotFound(what + " not found (" + String.join(", ", sonames) + " by soname, then in "
                + folders.size() + " CUDA and pip folders"
                + (envFolders(envValue).isEmpty() ? "" : ", then in " + envValue)
                + "); install it or set " + ENV + " to the folder that holds it");
    }

    private static List<String> envFolders(String envValue) {
        if (envValue == null || envValue.isBlank()) {
            return List.of();
        }
        return List.of(envValue.split(":")).stream().filter(s -> !s.isBlank()).toList();
    }

    /**
     * Loads every library in {@code folder} matching {@code glob}, so that a library which opens them by soname
     * later (NVRTC its builtins) finds them even when the folder is not on the loader's path.
     */
    static void preload(Path folder, String glob, Arena arena) {
        for (Path lib : children(folder, glob)) {
            try {
                SymbolLookup.libraryLookup(lib, arena);
            } catch (IllegalArgumentException notLoadable) {
                // the library that needs it will report the failure with its own message
            }
        }
    }

    private static List<Path> children(Path dir, String glob) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, glob)) {
            s.forEach(out::add);
        } catch (IOException | RuntimeException unreadable) {
            return List.of();
        }
        out.sort(null);
        return out;
    }
}
