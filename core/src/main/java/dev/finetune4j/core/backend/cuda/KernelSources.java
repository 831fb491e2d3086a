package dev.finetune4j.core.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.regex.Pattern;

/**
 * The CUDA C sources shipped as resources next to this class: one file per op family, and the headers they
 * include ({@link #COMMON} in every family, a family's own ones such as {@code attention.cuh} in the families that
 * share them). Headers include nothing themselves.
 */
final class KernelSources {
    /** The header every family includes. */
    static final String COMMON = "common.cuh";
    /** The family files, without their {@code .cu} suffix. */
    static final List<String> FAMILIES = List.of("copy", "elementwise", "reductions", "softmax", "norms",
            "activations", "rotary", "attention", "attention_bf16", "embedding", "cross_entropy", "dropout",
            "optimizer", "quantization", "recurrent");
    private static final Pattern INCLUDE = Pattern.compile("^#include \"([\\w.]+)\"", Pattern.MULTILINE);

    private KernelSources() {
    }

    /**
     * One family's source and the headers it includes.
     *
     * @param name the family ({@code "norms"})
     * @param source the text of {@code name.cu}
     * @param headers the text of each header it includes, by include name, in include order
     */
    record Family(String name, String source, SequencedMap<String, String> headers) {
        /** The source's file name ({@code "norms.cu"}). */
        String file() {
            return name + ".cu";
        }

        /** The headers' texts one after the other: where the family's structs and defines are read from. */
        String headerText() {
            return String.join("\n", headers.values());
        }
    }

    /**
     * Family {@code name} with the headers its source includes.
     *
     * @throws IllegalStateException when the source or a header is missing, or the source does not include
     *                               {@link #COMMON} first
     */
    static Family family(String name) {
        String source = read(name + ".cu");
        SequencedMap<String, String> headers = new LinkedHashMap<>();
        INCLUDE.matcher(source).results().forEach(m -> headers.put(m.group(1), read(m.group(1))));
        if (headers.isEmpty() || !headers.firstEntry().getKey().equals(COMMON)) {
            throw new IllegalStateException(name + ".cu must include " + COMMON + " before any other header");
        }
        return new Family(name, source, headers);
    }

    /** The text of resource {@code name} ({@code "norms.cu"}, {@link #COMMON}). */
    static String read(String name) {
        try (InputStream in = KernelSources.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + name + " is missing from the finetune4j-core jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + name, e);
        }
    }
}
