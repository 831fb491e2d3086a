package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kernel family compiles with nvcc for Hopper without a warning, and the attention kernels keep their
 * accumulators in registers (no GPU needed; skipped without nvcc).
 */
class KernelSourcesCompileTest {

    @Test
    void everyFamilyCompilesToPtx() throws Exception {
        Path nvcc = Tools.onPath("nvcc").orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc is not on the PATH: the CUDA sources are not compiled here");
        Map<String, Tools.Ptx> ptx = Tools.everyFamilyPtx(nvcc);
        List<String> failures = KernelSources.FAMILIES.stream().filter(f -> {
            Tools.NvccRun run = ptx.get(f).run();
            return run.exitCode() != 0 || run.log().contains("warning");
        }).map(f -> f + ".cu:\n" + ptx.get(f).run().log()).toList();
        assertEquals(List.of(), failures);
        for (String family : KernelSources.FAMILIES) {
            assertTrue(ptx.get(family).text().contains(".entry"), family + " has no kernel");
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
                family -> family, family -> Tools.nvccInOwnFolder(nvcc, dir, family, "-cubin", ".cubin", "-Xptxas", "-v")));
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
}
