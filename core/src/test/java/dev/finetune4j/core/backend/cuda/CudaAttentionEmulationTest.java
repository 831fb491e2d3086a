package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attention kernels (attention.cu and attention_bf16.cu) run on the CPU under a small CUDA emulation
 * (emulator/cuda_emulation.h: the 256 threads of a block are fibers switched at barriers in a random order, shared
 * memory starts as NaN, a barrier that not every thread reaches stops the run) and agree with attention computed
 * from its definition in double precision (emulator/attention_check.cpp): the f32 kernels within 1e-5, the
 * tensor-core kernels for bf16 inputs (their mma.m16n8k16 products emulated with the PTX ISA's fragment layout),
 * forward and backward, within 1e-2. This runs the kernels' indexing, masking, tails, fragment layouts and barriers
 * where no GPU is; it says nothing about the compiled code's speed or about the hardware. Skipped without g++ on
 * the PATH.
 */
class CudaAttentionEmulationTest {
    @TempDir
    static Path dir;
    private static Path check;

    @BeforeAll
    static void build() throws Exception {
        Path gpp = onPath("g++");
        Assumptions.assumeTrue(gpp != null, "g++ is not on the PATH: the emulated attention kernels are not run here");
        EmulatedKernels.writeHeaders(dir);
        copyResource("attention_check.cpp");
        for (String family : List.of("attention", "attention_bf16")) {
            Files.writeString(dir.resolve(family + "_emulated.cu"), EmulatedKernels.emulationSource(family));
        }
        check = dir.resolve("attention_check");
        // The kernels read bf16 pairs as 32-bit words, as CUDA allows.
        List<String> command = new ArrayList<>(List.of(gpp.toString(), "-std=c++17", "-O1", "-fno-strict-aliasing",
                "-Wall", "-Wno-unknown-pragmas", "-o", check.toString(), dir.resolve("attention_check.cpp").toString()));
        command.addAll(EmulatedKernels.SANITIZERS);
        String log = run(command, 0);
        assertTrue(Files.isExecutable(check), "g++ built nothing:\n" + log);
    }

    @Test
    void causalCacheWithPaddingSegmentsAnOddHeadDimensionAndAQueryThatSeesNoKey() throws Exception {
        agree(2, 4, 2, 70, 130, 33, true, 1, 0);
    }

    @Test
    void groupsOfEightWithTheLargestHeadDimensionReadThroughCacheViews() throws Exception {
        agree(2, 8, 1, 40, 100, 128, true, 1, 28);
    }

    @Test
    void causalSelfAttentionOverThreeTilesWithATail() throws Exception {
        agree(1, 4, 1, 130, 130, 64, true, 0, 0);
    }

    @Test
    void bidirectionalWithOneQueryHeadPerKvHeadAndARowWithoutKeys() throws Exception {
        agree(2, 3, 3, 67, 67, 33, false, 2, 0);
    }

    @Test
    void oneDecodedQueryAgainstACache() throws Exception {
        agree(1, 2, 1, 1, 65, 64, true, 0, 3);
    }

    @Test
    void tensorCoresCausalCacheWithPaddingSegmentsAndAQueryThatSeesNoKey() throws Exception {
        agreeBf16(2, 4, 2, 70, 130, 64, true, 1, 0);
    }

    @Test
    void tensorCoresGroupsOfEightWithTheLargestHeadDimensionReadThroughCacheViews() throws Exception {
        agreeBf16(2, 8, 1, 40, 100, 128, true, 1, 28);
    }

    @Test
    void tensorCoresCausalSelfAttentionOverTwoQueryTilesWithTails() throws Exception {
        // 200 queries: a full tile of 128 and a tail of 72; 200 keys: three tiles of 64 and a tail of 8. Groups of 4.
        agreeBf16(1, 4, 1, 200, 200, 64, true, 0, 0);
    }

    @Test
    void tensorCoresBidirectionalWithOneQueryHeadPerKvHeadAndARowWithoutKeys() throws Exception {
        agreeBf16(2, 3, 3, 67, 67, 32, false, 2, 0);
    }

    @Test
    void tensorCoresGroupsOfTwoWithAHeadDimensionPastTheSmallVariantsOverACacheWithTails() throws Exception {
        // D = 96: the kernels for D up to 128, whose last 4 of 16 accumulator tiles stay unused.
        agreeBf16(2, 8, 4, 130, 260, 96, true, 1, 5);
    }

    @Test
    void tensorCoresOneDecodedQueryAgainstACache() throws Exception {
        agreeBf16(1, 2, 1, 1, 65, 64, true, 0, 3);
    }

    @Test
    void slidingWindowsWithSoftCapsSkippingKeyTilesBeforeTheWindowAndQueryTilesAfterIt() throws Exception {
        // 200 queries after 60 cached keys, a window of 70: whole key tiles before it and query tiles after it
        // skipped; with padding and segments, and a soft cap of 0.5 that tanh bends
        check(2, 4, 2, 200, 260, 33, true, 1, 0, false, 70, 0.5f);
        check(2, 4, 2, 200, 260, 64, true, 1, 0, true, 70, 0.5f);
        // bidirectional with a window of 1 (each query sees only its own key) and no cap
        check(1, 2, 1, 67, 67, 32, false, 0, 0, false, 1, 0f);
        check(1, 2, 1, 67, 67, 32, false, 0, 0, true, 1, 0f);
    }

    @Test
    void gemmasHeadDimensionOverACacheWithWindowSoftCapPaddingAndSegments() throws Exception {
        // D = 256 (Gemma): the f32 *_d256 kernels' 32-row tiles (70 queries: two tiles and a tail of 6), the
        // tensor-core forward's *_d256 variant and the dq and dk, dv kernels' two column slices; 90 cached keys read
        // through views of 165-position buffers, a window of 50 and a soft cap of 0.5 (Gemma 2's shape of mask).
        check(1, 4, 2, 70, 160, 256, true, 1, 5, false, 50, 0.5f);
        check(1, 4, 2, 70, 160, 256, true, 1, 5, true, 50, 0.5f);
    }

    @Test
    void headDimensionsBetween128And256WithPartialColumnSlices() throws Exception {
        // D = 200 (f32, *_d256 with the last 56 accumulator columns unused) and D = 208 (tensor cores: the second
        // column slice writes 80 of its 128 columns), causal self-attention over tails; D = 136 with a bidirectional
        // window of 7, padding and segments.
        check(2, 2, 1, 45, 45, 200, true, 0, 0, false, 0, 0f);
        check(2, 2, 1, 150, 150, 208, true, 2, 0, true, 0, 0f);
        check(1, 2, 2, 33, 33, 136, false, 1, 0, false, 7, 0f);
    }

    /** The f32 kernels, forward and backward, against the definition within 1e-5. */
    private static void agree(int batch, int heads, int kvHeads, int queries, int keys, int headDim, boolean causal,
                              int masks, int spareKeys) throws Exception {
        check(batch, heads, kvHeads, queries, keys, headDim, causal, masks, spareKeys, false, 0, 0f);
    }

    /** The tensor-core kernels on bf16 inputs, forward and backward, against the definition within 1e-2. */
    private static void agreeBf16(int batch, int heads, int kvHeads, int queries, int keys, int headDim,
                                  boolean causal, int masks, int spareKeys) throws Exception {
        check(batch, heads, kvHeads, queries, keys, headDim, causal, masks, spareKeys, true, 0, 0f);
    }

    /**
     * One problem (attention_check.cpp's arguments), on the tensor-core kernels when {@code bf16}, with a sliding
     * window and a soft cap (0 for none).
     */
    private static void check(int batch, int heads, int kvHeads, int queries, int keys, int headDim, boolean causal,
                              int masks, int spareKeys, boolean bf16, int window, float softCap) throws Exception {
        run(List.of(check.toString(), Integer.toString(batch), Integer.toString(heads), Integer.toString(kvHeads),
                Integer.toString(queries), Integer.toString(keys), Integer.toString(headDim), causal ? "1" : "0",
                Integer.toString(masks), Integer.toString(spareKeys), bf16 ? "1" : "0", Integer.toString(window),
                Float.toString(softCap)), 0);
    }

    /** Runs {@code command}, asserting that it ends with {@code status} within two minutes; returns its output. */
    private static String run(List<String> command, int status) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " did not finish:\n" + log);
        assertEquals(status, p.exitValue(), () -> String.join(" ", command) + ":\n" + log);
        return log;
    }

    private static void copyResource(String name) {
        try (InputStream in = CudaAttentionEmulationTest.class.getResourceAsStream("emulator/" + name)) {
            assertTrue(in != null, "missing test resource emulator/" + name);
            Files.write(dir.resolve(name), in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(d, tool);
            if (!d.isEmpty() && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
