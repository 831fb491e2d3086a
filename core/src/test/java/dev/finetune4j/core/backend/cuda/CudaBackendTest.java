package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Dropout;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.autograd.Softmax;
import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.backend.KernelProfile;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backend's memory, transfers and errors, and ops through autograd on cuda:0. Needs a GPU; the same checks
 * run on the emulated device in {@link EmulatedCudaBackendTest}.
 */
class CudaBackendTest {
    /** The device under test, set before each test from {@link #device()}. */
    private Device gpu;

    /** The device the checks run on. */
    Device device() {
        return GpuTensors.GPU;
    }

    /** Skips the calling test, with the reason, when the device under test cannot run here. */
    void assumeDevice() {
        GpuTensors.assumeGpu();
    }

    @BeforeEach
    void requireDevice() {
        assumeDevice();
        gpu = device();
    }

    private CudaBackend backend() {
        return (CudaBackend) gpu.backend();
    }

    @Test
    void tensorsStartAtZeroAndRoundTripThroughTheHostInAnyLayoutAndDtype() {
        try (TensorScope scope = TensorScope.open()) {
            assertArrayEquals(new float[6], Tensor.zeros(scope, gpu, DType.F32, Shape.of(2, 3)).toFloatArray());
            float[] v = {1, 2, 3, 4, 5, 6};
            Tensor t = Tensor.of(gpu, scope, v, Shape.of(2, 3));
            assertArrayEquals(new float[]{1, 4, 2, 5, 3, 6}, t.transpose(0, 1).toFloatArray());
            assertArrayEquals(v, t.convertTo(DType.BF16, scope).toFloatArray());
            long[] ids = {1L << 40, -3, 7};
            assertArrayEquals(ids, Tensor.ofLongs(gpu, ids, Shape.of(3)).toLongArray());
        }
    }

    @Test
    void memoryIsCountedPerDeviceAndFreedWithItsScope() {
        long before = gpu.memory().allocatedBytes();
        try (TensorScope scope = TensorScope.open()) {
            Tensor.zeros(scope, gpu, DType.F32, Shape.of(1024, 1024));
            assertEquals(before + (4L << 20), gpu.memory().allocatedBytes());
        }
        assertEquals(before, gpu.memory().allocatedBytes());
    }

    @Test
    void anAllocationTooLargeForTheCardSaysWhatWasAskedAndWhatToTry() {
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> backend().allocate(DType.F32, 1L << 48, true));
        assertTrue(e.getMessage().startsWith("out of GPU memory: asked for 1048576.00 GiB"), e.getMessage());
        assertTrue(e.getMessage().contains("free of") && e.getMessage().contains("QLoRA"), e.getMessage());
    }

    @Test
    void deviceCountersCountEachProductsFlopsByOperandPrecisionAndEveryLaunch() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(scope, gpu, DType.F32, Shape.of(2, 4));
            Tensor b = Tensor.zeros(scope, gpu, DType.F32, Shape.of(4, 3));
            Tensor c = Tensor.zeros(scope, gpu, DType.F32, Shape.of(2, 3));
            DeviceCounters before = gpu.counters();
            gpu.backend().matmul().gemm(a, false, b, false, c, 1f, false);
            gpu.backend().matmul().gemm(a.to(DType.BF16), false, b.to(DType.BF16), false, c, 1f, true);
            // a bf16 operand beside a float32 one: both multiply as float32
            gpu.backend().matmul().gemm(a.to(DType.BF16), false, b, false, c, 1f, true);
            DeviceCounters made = gpu.counters().since(before);
            // three products; three casts to bf16 (a twice, b once); the mixed product converting its bf16 a back
            assertEquals(3 + 3 + 1, made.launches());
            assertEquals(2 * 2 * 3 * 4, made.halfGemmFlops());
            assertEquals(2 * (2 * 2 * 3 * 4), made.float32GemmFlops());
        }
    }

    @Test
    void deviceCountersCountEachUploadAndReadBackAndEachDriverAllocation() {
        DeviceCounters before = gpu.counters();
        try (TensorScope scope = TensorScope.open()) {
            Tensor t = Tensor.of(gpu, scope, new float[]{1, 2, 3}, Shape.of(3));
            t.toFloatArray();
            // a size no test allocates: the cache cannot serve it, so the driver is asked once
            Tensor.zeros(scope, gpu, DType.F32, Shape.of(12_345, 7));
        }
        DeviceCounters made = gpu.counters().since(before);
        assertEquals(2, made.hostTransfers(), "one upload and one read-back");
        assertTrue(made.driverAllocations() >= 1, () -> "the new size came from the driver: " + made);
        assertEquals(backend().transfers(), gpu.counters().hostTransfers());
        assertEquals(backend().driverAllocations(), gpu.counters().driverAllocations());
        assertEquals(DeviceCounters.NONE, Device.cpu().counters(), "the CPU counts no transfers");
    }

    @Test
    void steadyStateStepsMakeNoDriverAllocationsAndNoTransfers() {
        CudaBackend be = backend();
        try (TensorScope params = TensorScope.detached(gpu)) {
            Tensor w = Tensor.of(gpu, params, GradCheck.randn(1, 64 * 64), Shape.of(64, 64));
            Tensor m = Tensor.zeros(params, gpu, DType.F32, Shape.of(64, 64));
            Tensor v = Tensor.zeros(params, gpu, DType.F32, Shape.of(64, 64));
            Tensor x = Tensor.of(gpu, params, GradCheck.randn(2, 8 * 64), Shape.of(8, 64));
            long allocations = 0;
            long transfers = 0;
            for (int step = 0; step < 5; step++) {
                if (step == 2) {
                    allocations = be.driverAllocations();
                    transfers = be.transfers();
                }
                try (TensorScope s = TensorScope.open()) {
                    Tensor y = Tensor.zeros(s, gpu, DType.F32, Shape.of(8, 64));
                    be.matmul().gemm(x, false, w, true, y, 1f, false);
                    Tensor p = Tensor.zeros(s, gpu, DType.F32, Shape.of(8, 64));
                    be.softmax().softmax(y, p);
                    Tensor g = Tensor.zeros(s, gpu, DType.F32, Shape.of(64, 64));
                    be.matmul().gemm(p, true, x, false, g, 1f, false);
                    Tensor norm = Tensor.zeros(s, gpu, DType.F32, Shape.of(1));
                    be.reductions().norm(g, norm);
                    be.optimizer().adamw(w, g, m, v, new AdamWStep(1f, 0.1f, 0.999f, 0.001f, 1e-8f, -1e-3f, 0.1f));
                }
            }
            assertEquals(allocations, be.driverAllocations(), "driver allocations in steady-state steps");
            assertEquals(transfers, be.transfers(), "host<->device transfers in steady-state steps");
        }
    }

    @Test
    void elementwiseReductionsViewsMatmulAndLowRankThroughAutogradEqualTheCpu() {
        sameOnBothDevices(new int[][]{{2, 3, 4}, {3, 1}}, in -> Reductions.sum(Elementwise.mul(
                Elementwise.exp(Elementwise.div(in[0], Elementwise.addScalar(Elementwise.mul(in[1], in[1]), 1f))),
                in[0].transpose(0, 2).contiguous().transpose(0, 2))));
        sameOnBothDevices(new int[][]{{2, 5, 8}, {6, 8}, {6}, {3, 8}, {6, 3}}, in -> Reductions.sum(Elementwise.mul(
                LowRank.linear(in[0], in[1], in[2], in[3], in[4], 0.5f), Matmul.linear(in[0], in[1], null))));
    }

    /**
     * The ops whose outputs start uninitialized ({@link Tensor#empty}), forward and backward. On the emulated device
     * that memory starts as NaN ({@link CudaChecks#poisonUninitialized()}), so an op whose kernel leaves an element of
     * its output unwritten, or adds to it, gives NaN here.
     */
    @Test
    void opsWithUninitializedOutputsWriteEveryElementAndEqualTheCpu() {
        int[] x = {2, 3, 8};
        sameOnBothDevices(new int[][]{x, x}, in -> squares(Activations.apply(Activations.Kind.SILU, in[0]),
                Activations.apply(Activations.Kind.GELU_TANH, in[1]), Activations.swiglu(in[0], in[1])));
        sameOnBothDevices(new int[][]{x, {8}, {8}}, in -> squares(Norms.rmsNorm(in[0], in[1], 1e-5f),
                Norms.layerNorm(in[0], in[1], in[2], 1e-5f), Softmax.softmax(in[0]), Softmax.logSoftmax(in[0]),
                Dropout.apply(in[0], 0.3f, new DropoutKey(1, 2, 3)), Elementwise.scale(in[0], -2f),
                Elementwise.sqrt(Elementwise.exp(in[0]))));
        int[] heads = {1, 2, 4, 8};
        sameOnBothDevices(new int[][]{heads, heads, heads}, in -> squares(
                Rotary.apply(in[0], new int[][]{{0, 1, 2, 3}}, new float[]{1f, 0.5f, 0.25f, 0.125f}, 1f),
                Attention.scaledDotProduct(in[0], in[1], in[2], AttentionMask.causalOnly(), 0.35f)));
        sameOnBothDevices(new int[][]{{2, 3, 4}, {4, 5}, {5, 4}, {5}, {10, 4}}, in -> squares(
                Matmul.matmul(in[0], in[1]), Matmul.linear(in[0], in[2], in[3]),
                EmbeddingLookup.lookup(in[4], new long[][]{{1, 7, 1}, {0, 9, 3}})));
        sameOnBothDevices(new int[][]{{2, 3, 6}, {2, 3, 5}, {3, 6}, {5, 3}, {5, 6}, {5}, {5}, {5}}, in -> squares(
                LowRank.add(in[1], in[0], in[2], in[3], 0.5f),
                LowRank.weightDecomposed(in[0], in[0], in[4], in[5], in[2], in[3], 0.5f, in[6], in[7].detach())));
    }

    @Test
    void productsIntoBf16OutputsEqualTheCpu() {
        for (boolean accumulate : new boolean[]{false, true}) {
            for (DType weight : new DType[]{DType.BF16, DType.NF4}) {
                float[][] results = new float[2][];
                Device[] devices = {Device.cpu(), gpu};
                for (int d = 0; d < 2; d++) {
                    try (TensorScope s = TensorScope.open()) {
                        Tensor x = Tensor.of(devices[d], s, GradCheck.randn(1, 9 * 64), Shape.of(9, 64))
                                .convertTo(DType.BF16, s);
                        Tensor w = Tensor.of(devices[d], s, GradCheck.randn(2, 32 * 64), Shape.of(32, 64))
                                .convertTo(weight, s);
                        Tensor y = Tensor.of(devices[d], s, GradCheck.randn(3, 9 * 32), Shape.of(9, 32))
                                .convertTo(DType.BF16, s);
                        devices[d].backend().matmul().gemm(x, false, w, true, y, 0.5f, accumulate);
                        results[d] = y.toFloatArray();
                    }
                }
                GpuTensors.assertClose(weight + " weight, accumulate=" + accumulate, results[0], results[1],
                        GpuTensors.BF16_TOLERANCE);
            }
        }
    }

    /**
     * Under BF16_MIXED, RMSNorm, SwiGLU and rotary write their bf16 activations themselves (computed in float32,
     * rounded once): the same values, and gradients, as on the CPU.
     */
    @Test
    void activationsWrittenAsBf16EqualTheCpu() {
        try (Precision.Scope bf16 = Precision.BF16_MIXED.use()) {
            int[] x = {2, 3, 8};
            int[] heads = {1, 2, 4, 8};
            sameOnBothDevices(new int[][]{x, x, {8}, heads}, GpuTensors.BF16_TOLERANCE, in -> squares(
                    Norms.rmsNorm(in[0], in[2], 1e-5f), Activations.swiglu(in[0], in[1]),
                    Rotary.apply(in[3].transpose(1, 2).contiguous().transpose(1, 2), new int[][]{{0, 1, 2, 3}},
                            new float[]{1f, 0.5f, 0.25f, 0.125f}, 1f)));
        }
    }

    @Test
    void aProfileTimesEachKernelAndProductWhileTheDeviceRunsIt() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.of(gpu, scope, new float[64 * 64], Shape.of(64, 64));
            gpu.backend().synchronize();
            long start = System.nanoTime();
            gpu.backend().startProfiling();
            Tensor c = Elementwise.exp(Matmul.matmul(a, a));
            float[] host = new float[64 * 64];
            gpu.backend().copyToHost(c, MemorySegment.ofArray(host));
            KernelProfile profile = gpu.backend().stopProfiling();
            double hostMs = (System.nanoTime() - start) / 1e6;
            assertEquals(1f, host[0], "exp(0): the work ran");
            assertEquals(List.of("elementwise.unary", "gemm f32 64x64 by 64x64"), profile.entries().stream()
                    .map(KernelProfile.Entry::name).filter(n -> !n.startsWith("memset") && !n.startsWith("copy"))
                    .sorted().toList());
            profile.entries().forEach(e -> assertTrue(e.totalMs() > 0, e.name()));
            // everything profiled ran between the host's two clock readings (events resolve about half a microsecond)
            assertTrue(profile.busyMs() <= profile.wallMs() + 1e-3 && profile.wallMs() <= hostMs + 1e-3,
                    profile.busyMs() + " ms busy, " + profile.wallMs() + " ms wall, " + hostMs + " ms on the host");
        }
    }

    /** The sum of the squares of every output: each output's gradient is twice its value. */
    private static Tensor squares(Tensor... outputs) {
        Tensor total = null;
        for (Tensor y : outputs) {
            Tensor s = Reductions.sum(Elementwise.mul(y, y));
            total = total == null ? s : Elementwise.add(total, s);
        }
        return total;
    }

    private void sameOnBothDevices(int[][] shapes, Function<Tensor[], Tensor> loss) {
        sameOnBothDevices(shapes, GpuTensors.F32_TOLERANCE, loss);
    }

    private void sameOnBothDevices(int[][] shapes, double tolerance, Function<Tensor[], Tensor> loss) {
        float[][] values = new float[shapes.length][];
        for (int i = 0; i < shapes.length; i++) {
            values[i] = GradCheck.randn(40 + i, Math.toIntExact(Shape.of(shapes[i]).numel()));
        }
        float[][] cpu = run(Device.cpu(), shapes, values, loss);
        float[][] onDevice = run(gpu, shapes, values, loss);
        for (int i = 0; i < cpu.length; i++) {
            GpuTensors.assertClose("output " + i + " (0: loss, then the gradients)", cpu[i], onDevice[i], tolerance);
        }
    }

    private static float[][] run(Device device, int[][] shapes, float[][] values, Function<Tensor[], Tensor> loss) {
        try (var params = TensorScope.detached(device); var step = TensorScope.open()) {
            Tensor[] in = new Tensor[shapes.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = Tensor.of(params, values[i], shapes[i]).requiresGrad(true);
            }
            Tensor l = loss.apply(in);
            Autograd.backward(l);
            float[][] out = new float[in.length + 1][];
            out[0] = l.toFloatArray();
            for (int i = 0; i < in.length; i++) {
                out[i + 1] = in[i].grad() == null ? new float[0] : in[i].grad().toFloatArray();
            }
            return out;
        }
    }
}
