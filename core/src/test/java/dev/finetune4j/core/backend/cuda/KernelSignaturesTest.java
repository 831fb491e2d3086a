package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernels' C parameter lists as the launch checker reads them from the sources. */
class KernelSignaturesTest {
    private static final String HEADER = "#define N 4\nstruct Pair { int a; long long b; };\n";

    private static Map<String, KernelSignature> parse(String source) {
        return KernelSignatures.parse("test.cu", source, HEADER);
    }

    private static List<KernelArgType> types(KernelSignature s) {
        return s.params().stream().map(KernelSignature.Param::type).toList();
    }

    @Test
    void everyKernelOfEveryFamilyParsesWithKnownTypes() {
        for (String family : KernelSources.FAMILIES) {
            Map<String, KernelSignature> kernels = KernelSignatures.of(KernelSources.family(family));
            assertFalse(kernels.isEmpty(), family + ".cu has no kernel");
        }
    }

    @Test
    void theViewStructIsRankOffsetAndTwoArraysOfMaxRankLongs() {
        KernelSignature copy = KernelSignatures.of(KernelSources.family("copy")).get("copy_view");
        KernelArgType view = KernelArgType.struct(8 + 8 + 2 * 8 * KernelArgs.MAX_RANK);
        assertEquals(List.of(KernelArgType.POINTER, KernelArgType.I32, view, KernelArgType.POINTER,
                KernelArgType.I32, view, KernelArgType.I64), types(copy));
        assertEquals("const void* src", copy.params().getFirst().declaration());
    }

    @Test
    void scalarsPointersStructsAndLaunchBoundsAreRead() {
        var k = parse("""
                // extern "C" __global__ void commented(int a) {}
                /* extern "C" __global__ void alsoCommented(int a) {} */
                extern "C" __global__ void __launch_bounds__(256) k(const float* __restrict__ x, unsigned int n,
                        unsigned long long seed, float scale, Pair p, const Pair* ps, long long count) {}
                struct Wide { long long v[N]; int tail; };
                extern "C" __global__ void w(Wide wide) {}
                """);
        assertEquals(List.of("k", "w"), List.copyOf(k.keySet()));
        assertEquals(List.of(KernelArgType.POINTER, KernelArgType.I32, KernelArgType.I64, KernelArgType.F32,
                KernelArgType.struct(16), KernelArgType.POINTER, KernelArgType.I64), types(k.get("k")));
        // 4 longs, an int, padded to the 8-byte alignment of the longs
        assertEquals(List.of(KernelArgType.struct(40)), types(k.get("w")));
    }

    @Test
    void typesTheCheckerDoesNotKnowAreRefusedNamingTheKernelAndParameter() {
        for (String[] bad : new String[][]{
                {"extern \"C\" __global__ void k(double d) {}", "'double d'", "cannot pass a 'double' by value"},
                {"extern \"C\" __global__ void k(half* h) {}", "'half* h'", "unknown pointee type 'half'"},
                {"extern \"C\" __global__ void k(const Pair& p) {}", "'const Pair& p'", "references"},
                {"extern \"C\" __global__ void k(float** p) {}", "'float** p'", "pointers to pointers"},
                {"extern \"C\" __global__ void k(Unknown u) {}", "'Unknown u'", "cannot pass a 'Unknown'"}}) {
            var e = assertThrows(IllegalStateException.class, () -> parse(bad[0]));
            assertTrue(e.getMessage().startsWith("test.cu: kernel k has parameter " + bad[1]), e.getMessage());
            assertTrue(e.getMessage().contains(bad[2]), e.getMessage());
        }
        var hidden = assertThrows(IllegalStateException.class,
                () -> parse("template <int B> __global__ void t(float* x) {}"));
        assertTrue(hidden.getMessage().contains("1 __global__ functions but only 0"), hidden.getMessage());
        var field = assertThrows(IllegalStateException.class,
                () -> parse("struct Odd { half h; };\nextern \"C\" __global__ void k(Odd o) {}"));
        assertTrue(field.getMessage().contains("struct Odd has field 'half h'"), field.getMessage());
    }

    @Test
    void aLaunchIsCheckedForCountOrderKindAndStructSize() {
        KernelSignature k = parse("extern \"C\" __global__ void k(float* x, Pair p, int n) {}").get("k");
        k.check("test", List.of(KernelArgType.POINTER, KernelArgType.struct(16), KernelArgType.I32));
        for (List<KernelArgType> wrong : List.of(List.of(KernelArgType.POINTER, KernelArgType.struct(16)),
                List.of(KernelArgType.POINTER, KernelArgType.struct(24), KernelArgType.I32),
                List.of(KernelArgType.I64, KernelArgType.struct(16), KernelArgType.I32),
                List.of(KernelArgType.POINTER, KernelArgType.struct(16), KernelArgType.F32))) {
            var e = assertThrows(IllegalArgumentException.class, () -> k.check("test", wrong));
            assertTrue(e.getMessage().contains("the kernel takes (float* x: pointer, Pair p: struct of 16 bytes,"
                    + " int n: int32) but the launch passes ("), e.getMessage());
        }
    }

    /** nvcc's PTX gives every kernel parameter's size independently of this parser: they must agree. */
    @Test
    void parameterSizesEqualThoseNvccGivesThePtxEntries() throws Exception {
        Path nvcc = Tools.onPath("nvcc").orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc is not on the PATH: no PTX to compare the parser with");
        Map<String, Tools.Ptx> ptx = Tools.everyFamilyPtx(nvcc);
        List<String> mismatches = new ArrayList<>();
        for (String family : KernelSources.FAMILIES) {
            Tools.NvccRun run = ptx.get(family).run();
            assertEquals(0, run.exitCode(), family + ": " + run.log());
            Map<String, List<Long>> fromPtx = ptxParameterSizes(ptx.get(family).text());
            Map<String, List<Long>> parsed = new LinkedHashMap<>();
            KernelSignatures.of(KernelSources.family(family)).forEach((name, s) -> parsed.put(name,
                    s.params().stream().map(q -> q.type().bytes()).toList()));
            if (!fromPtx.equals(parsed)) {
                mismatches.add(family + ": PTX " + fromPtx + ", parsed " + parsed);
            }
        }
        assertEquals(List.of(), mismatches);
    }

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.([a-z])(\\d+)\\s+\\w+"
            + "(?:\\[(\\d+)])?");

    /** Kernel name to the byte size of each {@code .param} of its PTX entry. */
    private static Map<String, List<Long>> ptxParameterSizes(String ptx) {
        Map<String, List<Long>> out = new LinkedHashMap<>();
        Matcher e = ENTRY.matcher(ptx);
        while (e.find()) {
            List<Long> sizes = new ArrayList<>();
            Matcher p = PARAM.matcher(e.group(2));
            while (p.find()) {
                long bits = Long.parseLong(p.group(2));
                sizes.add(bits / 8 * (p.group(3) == null ? 1 : Long.parseLong(p.group(3))));
            }
            out.put(e.group(1), sizes);
        }
        return out;
    }
}
