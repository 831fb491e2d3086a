package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelProfile;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A profile times every piece of work the CUDA backend queues, under the name of what it was. On the fake device
 * each queued operation takes exactly {@link FakeCuda#FAKE_WORK_NANOS}, so the profile's calls, times and wall time
 * are known from what the fake driver received. {@link CudaBackendTest} times real work (on a GPU, and on the
 * emulated device).
 */
class CudaProfilingTest {
    private static final double WORK_MS = FakeCuda.FAKE_WORK_NANOS / 1e6;

    @Test
    void everyLaunchProductCopyAndMemsetIsTimedUnderItsName() {
        Device gpu = FakeCudaProvider.device();
        Backend backend = gpu.backend();
        FakeCuda fake = FakeCudaProvider.libraries();
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.of(gpu, scope, new float[]{1, 2, 3, 4, 5, 6}, Shape.of(2, 3))
                    .convertTo(DType.BF16, scope);
            Tensor b = Tensor.of(gpu, scope, new float[]{1, 0, 0, 1, 1, 1}, Shape.of(3, 2))
                    .convertTo(DType.BF16, scope);
            int launchesBefore = fake.launches().size();
            backend.startProfiling();
            Tensor c = Elementwise.add(Matmul.matmul(a, b), Matmul.matmul(a, b));
            backend.copyToHost(c, MemorySegment.ofArray(new float[4]));
            KernelProfile profile = backend.stopProfiling();

            Map<String, Long> launched = fake.launches().subList(launchesBefore, fake.launches().size()).stream()
                    .collect(Collectors.groupingBy(l -> l.family() + "." + l.kernel(), TreeMap::new,
                            Collectors.counting()));
            Map<String, Long> profiled = new TreeMap<>();
            profile.entries().forEach(e -> profiled.put(e.name(), e.calls()));
            assertEquals(2L, profiled.remove("gemm bf16 2x3 by 3x2"), profiled.toString());
            assertEquals(1L, profiled.remove("copy device to host"), profiled.toString());
            assertNull(profiled.get("memset (zeroing new tensors)"), "outputs that kernels overwrite are not cleared");
            assertEquals(launched, profiled, "every kernel launched, under its family and name");
            profile.entries().forEach(e -> assertEquals(e.calls() * WORK_MS, e.totalMs(), 1e-6, e.name()));
            assertEquals(profile.wallMs(), profile.busyMs(), 1e-6, "nothing queued went untimed");
        }
    }

    @Test
    void profilesStartOnceAndStopOnlyWhenStarted() {
        Backend backend = FakeCudaProvider.device().backend();
        IllegalStateException notStarted = assertThrows(IllegalStateException.class, backend::stopProfiling);
        assertTrue(notStarted.getMessage().contains("startProfiling"), notStarted.getMessage());
        backend.startProfiling();
        try {
            assertThrows(IllegalStateException.class, backend::startProfiling);
        } finally {
            backend.stopProfiling();
        }
        backend.startProfiling(); // a stopped profile can start again, on the same events
        assertEquals(0, backend.stopProfiling().entries().size());
    }

    @Test
    void theTableListsTheMostExpensiveWorkThenTheRestAndTheIdleTime() {
        KernelProfile p = new KernelProfile(10, List.of(new KernelProfile.Entry("small", 4, 1),
                new KernelProfile.Entry("big", 2, 6), new KernelProfile.Entry("tiny", 1, 0.5)));
        assertEquals(List.of("big", "small", "tiny"), p.entries().stream().map(KernelProfile.Entry::name).toList());
        assertEquals(7.5, p.busyMs(), 1e-12);
        String[] lines = p.table(1).split("\n");
        assertEquals(4, lines.length, p.table(1));
        assertTrue(lines[1].startsWith("big") && lines[1].endsWith("60.0%"), lines[1]);
        assertTrue(lines[2].startsWith("(2 others)") && lines[2].contains(" 5 ") && lines[2].endsWith("15.0%"),
                lines[2]);
        assertTrue(lines[3].startsWith("(device idle)") && lines[3].endsWith("25.0%"), lines[3]);
    }
}
