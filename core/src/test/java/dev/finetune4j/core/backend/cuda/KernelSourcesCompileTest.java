package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kernel family compiles with nvcc for Hopper, as NVRTC compiles it (no GPU needed; skipped without nvcc). */
class KernelSourcesCompileTest {

    @Test
    void everyFamilyCompilesToPtx(@TempDir Path dir) throws Exception {
        Path nvcc = Tools.onPath("nvcc").orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc is not on the PATH: the CUDA sources are not compiled here");
        List<String> failures = KernelSources.FAMILIES.parallelStream().map(family -> {
            Tools.NvccRun run = compile(nvcc, dir, family, "-ptx", ".ptx");
            return run.exitCode() != 0 || run.log().contains("warning") ? family + ".cu:\n" + run.log() : null;
        }).filter(Objects::nonNull).toList();
        assertEquals(List.of(), failures);
        for (String family : KernelSources.FAMILIES) {
            assertTrue(Files.readString(dir.resolve(family).resolve(family + ".ptx")).contains(".entry"),
                    family + " has no kernel");
        }
    }

    /**
     * The attention kernels hold their tiles' accumulators in registers (the tensor-core ones up to 241 of 255, the
     * forward at D = 256): a change that makes ptxas spill them to local memory fails here instead of slowing the GPU
     * run.
     */
    @Test
    void attentionKernelsDoNotSpillRegistersOnHopper(@TempDir Path dir) throws Exception {
        Path nvcc = Tools.onPath("nvcc").orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc is not on the PATH: the CUDA sources are not compiled here");
        Map<String, Tools.NvccRun> runs = Stream.of("attention", "attention_bf16").parallel().collect(Collectors.toMap(
                family -> family, family -> compile(nvcc, dir, family, "-cubin", ".cubin", "-Xptxas", "-v")));
        for (String family : runs.keySet()) {
            Tools.NvccRun run = runs.get(family);
            String log = run.log();
            assertEquals(0, run.exitCode(), log);
            Matcher spills = Pattern.compile("(\\d+) bytes spill stores, (\\d+) bytes spill loads").matcher(log);
            int kernels = 0;
            while (spills.find()) {
                kernels++;
                assertEquals("0 bytes spill stores, 0 bytes spill loads", spills.group(), log);
            }
            assertEquals(KernelSignatures.of(KernelSources.family(family)).size(), kernels, log);
        }
    }

    /**
     * nvcc on one family in a folder of its own (the families share header names, and the calls run in parallel:
     * nvcc is most of this class's time, and one compile uses one core).
     */
    private static Tools.NvccRun compile(Path nvcc, Path dir, String family, String mode, String suffix,
                                         String... more) {
        try {
            Path own = Files.createDirectories(dir.resolve(family));
            List<String> args = new ArrayList<>(List.of("--fmad=false", mode));
            args.addAll(List.of(more));
            args.addAll(List.of("-o", own.resolve(family + suffix).toString()));
            return Tools.nvcc(nvcc, own, family, args.toArray(String[]::new));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while nvcc compiled " + family, e);
        }
    }
}
