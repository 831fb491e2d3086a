package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.Xielu;
import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.backend.ElementwiseKernels.BinaryOp;
import dev.finetune4j.core.backend.ElementwiseKernels.UnaryOp;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of every CUDA kernel family, run once with small tensors on {@code fakecuda:0}: the real CUDA backend's
 * Java code over stand-ins for the CUDA libraries. Each launch is checked against the kernel's C signature by
 * {@link CudaKernels} itself, and again by {@link FakeCuda} from the bytes the driver receives, together with the
 * pointers it passes (inside live device allocations) and the GEMMs' leading dimensions and extents. Every op starts
 * on a thread without a current context, as a service's request thread may. Values are not computed:
 * {@link CudaKernelConformanceTest} compares them on a GPU.
 */
class CudaLaunchContractTest {
    private static final Device DEVICE = FakeCudaProvider.device();

    /** One call of an op on the fake device. */
    private interface Op {
        void run(KernelFamilies k, TensorScope s);
    }

    /**
     * {@code t}, with the calling thread left without a current context, as a request thread that has not touched
     * the device yet: every input is made through this, so that each op starts on such a thread.
     */
    private static Tensor input(Tensor t) {
        FakeCudaProvider.libraries().leaveContext();
        return t;
    }

    private static Tensor randn(TensorScope s, int... dims) {
        Shape shape = Shape.of(dims);
        float[] v = new float[Math.toIntExact(shape.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i + 1);
        }
        return input(Tensor.of(DEVICE, s, v, shape));
    }

    private static Tensor randn(TensorScope s, DType type, int... dims) {
        return input(randn(s, dims).convertTo(type, s));
    }

    private static Tensor zeros(TensorScope s, DType type, int... dims) {
        return input(Tensor.zeros(s, DEVICE, type, Shape.of(dims)));
    }

    private static Tensor f32(TensorScope s, int... dims) {
        return zeros(s, DType.F32, dims);
    }

    private static Tensor nf4(KernelFamilies k, TensorScope s, int rows, int cols) {
        Tensor q = zeros(s, DType.NF4, rows, cols);
        k.quantization().quantizeNf4(randn(s, rows, cols), q);
        return input(q);
    }

    /** The cases, keyed "family.op variant"; every op of every family has at least one. */
    private static Map<String, Op> cases() {
        Map<String, Op> c = new LinkedHashMap<>();
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                c.put("matmul.gemm ta=" + ta + " tb=" + tb, (k, s) -> k.matmul().gemm(randn(s, ta ? 37 : 19,
                        ta ? 19 : 37), ta, randn(s, tb ? 23 : 37, tb ? 37 : 23), tb, f32(s, 19, 23), 0.5f, true));
                c.put("matmul.gemm batched ta=" + ta + " tb=" + tb, (k, s) -> k.matmul().gemm(
                        randn(s, 3, ta ? 64 : 5, ta ? 5 : 64), ta, randn(s, 3, tb ? 7 : 64, tb ? 64 : 7), tb,
                        f32(s, 3, 5, 7), 1f, false));
                c.put("matmul.gemm nf4 ta=" + ta + " tb=" + tb, (k, s) -> k.matmul().gemm(
                        randn(s, 2, ta ? 96 : 9, ta ? 9 : 96), ta, nf4(k, s, 96, 96), tb, f32(s, 2, 9, 96), 1f, false));
            }
        }
        c.put("matmul.gemm k=0", (k, s) -> k.matmul().gemm(randn(s, 4, 0), false, randn(s, 0, 3), false,
                f32(s, 4, 3), 1f, false));
        c.put("matmul.gemm shared b", (k, s) -> k.matmul().gemm(randn(s, 3, 5, 64), false, randn(s, 64, 7), false,
                f32(s, 3, 5, 7), 1f, false));
        c.put("matmul.gemm bf16", (k, s) -> k.matmul().gemm(randn(s, DType.BF16, 33, 128), false,
                randn(s, DType.BF16, 40, 128), true, f32(s, 33, 40), 1f, false));
        c.put("matmul.gemm into bf16, batched", (k, s) -> k.matmul().gemm(randn(s, DType.BF16, 2, 33, 128), false,
                randn(s, DType.BF16, 40, 128), true, zeros(s, DType.BF16, 2, 33, 40), 1f, true));
        c.put("matmul.gemm nf4 into bf16", (k, s) -> k.matmul().gemm(randn(s, DType.BF16, 2, 9, 96), false,
                nf4(k, s, 96, 96), true, zeros(s, DType.BF16, 2, 9, 96), 1f, false));
        c.put("matmul.gemm mixed dtypes and a view", (k, s) -> k.matmul().gemm(randn(s, 64, 9).transpose(0, 1),
                false, randn(s, DType.BF16, 48, 64), true, f32(s, 9, 48), 1f, false));
        c.put("copy.copy", (k, s) -> k.copy().copy(randn(s, 4, 6, 5).permute(2, 1, 0), f32(s, 5, 6, 4)));
        c.put("copy.copy to bf16", (k, s) -> k.copy().copy(randn(s, 7, 9).transpose(0, 1), zeros(s, DType.BF16, 9, 7)));
        c.put("copy.copy i64", (k, s) -> k.copy().copy(input(Tensor.ofLongs(DEVICE, new long[]{3, 1L << 40}, Shape.of(2))),
                zeros(s, DType.I64, 2)));
        c.put("copy.fill", (k, s) -> k.copy().fill(randn(s, 6, 8).slice(1, 2, 5), 3.5f));
        for (BinaryOp op : BinaryOp.values()) {
            c.put("elementwise.binary " + op, (k, s) -> k.elementwise().binary(op, randn(s, 3, 4, 5),
                    randn(s, 4, 1).expand(Shape.of(3, 4, 5)), f32(s, 3, 4, 5)));
        }
        for (UnaryOp op : UnaryOp.values()) {
            c.put("elementwise.unary " + op, (k, s) -> k.elementwise().unary(op, randn(s, DType.BF16, 50),
                    f32(s, 50)));
        }
        c.put("elementwise.affine", (k, s) -> {
            Tensor x = randn(s, 40);
            k.elementwise().affine(x, 2f, 1f, x);
        });
        c.put("reductions.sumTo", (k, s) -> k.reductions().sumTo(randn(s, 3, 4, 5), f32(s, 1, 4, 1)));
        c.put("reductions.sumTo everything", (k, s) -> k.reductions().sumTo(randn(s, 300, 11), f32(s, 1, 1)));
        c.put("reductions.dots over rows", (k, s) -> k.reductions().dots(randn(s, 9, 40),
                randn(s, 40, 9).transpose(0, 1), 1, f32(s, 9)));
        c.put("reductions.dots over columns", (k, s) -> k.reductions().dots(randn(s, 9, 40), randn(s, 9, 40), 0,
                f32(s, 40)));
        c.put("reductions.argmax", (k, s) -> k.reductions().argmax(randn(s, 6, 40).slice(1, 3, 33),
                zeros(s, DType.I64, 6)));
        c.put("reductions.norm", (k, s) -> k.reductions().norm(randn(s, 1000, 7).transpose(0, 1), f32(s, 1)));
        c.put("copy.copy of many", (k, s) -> k.copy().copy(List.of(randn(s, 16, 30), randn(s, 7)),
                List.of(zeros(s, DType.BF16, 16, 30), zeros(s, DType.BF16, 7))));
        c.put("copy.fill of many", (k, s) -> k.copy().fill(List.of(randn(s, 16, 30), randn(s, 7)), 0f));
        c.put("reductions.norms", (k, s) -> k.reductions().norms(List.of(randn(s, 16, 30), randn(s, 7)), f32(s, 2)));
        c.put("softmax.softmax", (k, s) -> k.softmax().softmax(randn(s, 3, 100), f32(s, 3, 100)));
        c.put("softmax.softmaxBackward", (k, s) -> k.softmax().softmaxBackward(randn(s, 3, 100), randn(s, 3, 100),
                f32(s, 3, 100)));
        c.put("softmax.logSoftmax", (k, s) -> k.softmax().logSoftmax(randn(s, 5, 33), f32(s, 5, 33)));
        c.put("softmax.logSoftmaxBackward", (k, s) -> k.softmax().logSoftmaxBackward(randn(s, 5, 33),
                randn(s, 5, 33), f32(s, 5, 33)));
        c.put("norms.rmsNorm", (k, s) -> k.norms().rmsNorm(randn(s, 2, 3, 64), randn(s, 64), 1e-6f,
                f32(s, 2, 3, 64), f32(s, 6)));
        c.put("norms.rmsNorm into bf16", (k, s) -> k.norms().rmsNorm(randn(s, 2, 3, 64), randn(s, 64), 1e-6f,
                zeros(s, DType.BF16, 2, 3, 64), f32(s, 6)));
        c.put("norms.rmsNormBackward", (k, s) -> k.norms().rmsNormBackward(randn(s, 6, 64), randn(s, 6, 64),
                randn(s, 64), randn(s, 6), f32(s, 6, 64), false, f32(s, 64)));
        c.put("norms.rmsNormBackward accumulating", (k, s) -> k.norms().rmsNormBackward(randn(s, 6, 64),
                randn(s, 6, 64), randn(s, 64), randn(s, 6), randn(s, 6, 64), true, null));
        c.put("norms.rmsNormBackward without dw", (k, s) -> k.norms().rmsNormBackward(randn(s, 6, 64),
                randn(s, 6, 64), randn(s, 64), randn(s, 6), f32(s, 6, 64), false, null));
        c.put("norms.layerNorm", (k, s) -> k.norms().layerNorm(randn(s, 6, 48), randn(s, 48), randn(s, 48), 1e-5f,
                f32(s, 6, 48), f32(s, 6), f32(s, 6)));
        c.put("norms.layerNorm without bias", (k, s) -> k.norms().layerNorm(randn(s, 6, 48), randn(s, 48), null,
                1e-5f, f32(s, 6, 48), f32(s, 6), f32(s, 6)));
        c.put("norms.layerNormBackward", (k, s) -> k.norms().layerNormBackward(randn(s, 6, 48), randn(s, 6, 48),
                randn(s, 48), randn(s, 6), randn(s, 6), f32(s, 6, 48), false, f32(s, 48), f32(s, 48)));
        c.put("norms.layerNormBackward accumulating", (k, s) -> k.norms().layerNormBackward(randn(s, 6, 48),
                randn(s, 6, 48), randn(s, 48), randn(s, 6), randn(s, 6), randn(s, 6, 48), true, null, null));
        c.put("norms.layerNormBackward without db", (k, s) -> k.norms().layerNormBackward(randn(s, 6, 48),
                randn(s, 6, 48), randn(s, 48), randn(s, 6), randn(s, 6), f32(s, 6, 48), false, f32(s, 48), null));
        for (Kind kind : Kind.values()) {
            c.put("activations.activation " + kind, (k, s) -> k.activations().activation(kind, randn(s, 4, 50),
                    f32(s, 4, 50)));
            c.put("activations.activationBackward " + kind, (k, s) -> k.activations().activationBackward(kind,
                    randn(s, 4, 50), randn(s, 4, 50), f32(s, 4, 50)));
        }
        c.put("activations.swiglu", (k, s) -> k.activations().swiglu(randn(s, 3, 40), randn(s, 3, 40),
                f32(s, 3, 40)));
        c.put("activations.swiglu of bf16 into bf16", (k, s) -> k.activations().swiglu(randn(s, DType.BF16, 3, 40),
                randn(s, DType.BF16, 3, 40), zeros(s, DType.BF16, 3, 40)));
        c.put("crossEntropy.tokenLogProbsBackward of bf16 logits into bf16", (k, s) -> k.crossEntropy()
                .tokenLogProbsBackward(randn(s, DType.BF16, 4, 500), labels(), -100, randn(s, 4), randn(s, 4),
                        randn(s, 4), zeros(s, DType.BF16, 4, 500)));
        c.put("activations.swigluBackward into bf16", (k, s) -> k.activations().swigluBackward(
                randn(s, DType.BF16, 3, 40), randn(s, DType.BF16, 3, 40), randn(s, 3, 40), zeros(s, DType.BF16, 3, 40),
                zeros(s, DType.BF16, 3, 40)));
        c.put("activations.swigluBackward", (k, s) -> k.activations().swigluBackward(randn(s, 3, 40),
                randn(s, 3, 40), randn(s, 3, 40), f32(s, 3, 40), f32(s, 3, 40)));
        c.put("activations.clampedSwiglu", (k, s) -> k.activations().clampedSwiglu(randn(s, 3, 80), 1.702f, 1f,
                f32(s, 3, 40)));
        c.put("activations.clampedSwigluBackward of bf16 into bf16", (k, s) -> k.activations().clampedSwigluBackward(
                randn(s, DType.BF16, 3, 80), 1.702f, 1f, randn(s, 3, 40), zeros(s, DType.BF16, 3, 80)));
        c.put("activations.xielu of bf16 into bf16", (k, s) -> k.activations().xielu(randn(s, DType.BF16, 3, 40),
                randn(s, 1), randn(s, DType.BF16, 1), Xielu.BETA, Xielu.EPS, zeros(s, DType.BF16, 3, 40)));
        c.put("activations.xieluBackward", (k, s) -> k.activations().xieluBackward(randn(s, 3, 40), randn(s, 1),
                randn(s, 1), Xielu.BETA, Xielu.EPS, randn(s, 3, 40), f32(s, 3, 40), f32(s, 1), f32(s, 1)));
        c.put("activations.xieluBackward of frozen scalars into bf16", (k, s) -> k.activations().xieluBackward(
                randn(s, DType.BF16, 3, 40), randn(s, 1), randn(s, 1), Xielu.BETA, Xielu.EPS, randn(s, 3, 40),
                zeros(s, DType.BF16, 3, 40), null, null));
        c.put("rotary.rotate", (k, s) -> k.rotary().rotate(randn(s, 2, 3, 5, 8), randn(s, 2, 5, 4),
                randn(s, 2, 5, 4), RotaryLayout.HALVES, true, f32(s, 2, 3, 5, 8)));
        c.put("rotary.rotate partial, 6 of 10 dimensions", (k, s) -> k.rotary().rotate(randn(s, 2, 3, 5, 10),
                randn(s, 2, 5, 3), randn(s, 2, 5, 3), RotaryLayout.HALVES, false, f32(s, 2, 3, 5, 10)));
        c.put("rotary.rotate interleaved, 6 of 10 dimensions", (k, s) -> k.rotary().rotate(randn(s, 2, 3, 5, 10),
                randn(s, 2, 5, 3), randn(s, 2, 5, 3), RotaryLayout.INTERLEAVED, true, f32(s, 2, 3, 5, 10)));
        c.put("rotary.rotate of a transposed bf16 view into bf16", (k, s) -> k.rotary().rotate(
                randn(s, DType.BF16, 2, 5, 3, 8).transpose(1, 2), randn(s, 2, 5, 4), randn(s, 2, 5, 4),
                RotaryLayout.HALVES, false,
                zeros(s, DType.BF16, 2, 3, 5, 8)));
        boolean[][] valid = {{false, true, true, true, true, true, true}, {true, true, true, true, true, true, true}};
        int[][] segments = {{0, 0, 0, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 2, 2}};
        for (AttentionMask mask : new AttentionMask[]{AttentionMask.none(), AttentionMask.causalOnly(),
                new AttentionMask(true, valid, segments)}) {
            String m = " causal=" + mask.causal() + " padded=" + (mask.keyValid() != null);
            c.put("attention.attention" + m, (k, s) -> k.attention().attention(randn(s, 2, 4, 5, 8),
                    randn(s, 2, 2, 7, 8), randn(s, 2, 2, 7, 8), mask, 0.35f, 0f, f32(s, 2, 4, 5, 8), f32(s, 2, 4, 5)));
            c.put("attention.attention with sinks" + m, (k, s) -> k.attention().attention(randn(s, 2, 4, 5, 8),
                    randn(s, 2, 2, 7, 8), randn(s, 2, 2, 7, 8), mask, 0.35f, 0f, randn(s, 4), f32(s, 2, 4, 5, 8),
                    f32(s, 2, 4, 5)));
            c.put("attention.attentionBackward" + m, (k, s) -> k.attention().attentionBackward(randn(s, 2, 4, 5, 8),
                    randn(s, 2, 2, 7, 8), randn(s, 2, 2, 7, 8), mask, 0.35f, 0f, randn(s, 2, 4, 5, 8),
                    randn(s, 2, 4, 5), randn(s, 2, 4, 5, 8), f32(s, 2, 4, 5, 8), f32(s, 2, 2, 7, 8),
                    f32(s, 2, 2, 7, 8)));
        }
        // a sliding window and a soft cap: two more kernel arguments, and loops that skip tiles
        AttentionMask windowed = new AttentionMask(true, valid, segments, 3);
        c.put("attention.attention window=3 softCap=0.5", (k, s) -> k.attention().attention(randn(s, 2, 4, 5, 8),
                randn(s, 2, 2, 7, 8), randn(s, 2, 2, 7, 8), windowed, 0.35f, 0.5f, f32(s, 2, 4, 5, 8),
                f32(s, 2, 4, 5)));
        c.put("attention.attentionBackward window=3 softCap=0.5", (k, s) -> k.attention().attentionBackward(
                randn(s, 2, 4, 5, 8), randn(s, 2, 2, 7, 8), randn(s, 2, 2, 7, 8), windowed, 0.35f, 0.5f,
                randn(s, 2, 4, 5, 8), randn(s, 2, 4, 5), randn(s, 2, 4, 5, 8), f32(s, 2, 4, 5, 8),
                f32(s, 2, 2, 7, 8), f32(s, 2, 2, 7, 8)));
        c.put("attention.attention D=128 over a cache view", (k, s) -> k.attention().attention(
                randn(s, 1, 4, 65, 128), randn(s, 1, 2, 80, 128).slice(2, 0, 70),
                randn(s, 1, 2, 80, 128).slice(2, 0, 70), AttentionMask.causalOnly(), 0.09f, 0f, f32(s, 1, 4, 65, 128),
                f32(s, 1, 4, 65)));
        c.put("attention.attentionBackward D=128 over a cache view", (k, s) -> k.attention().attentionBackward(
                randn(s, 1, 4, 65, 128), randn(s, 1, 2, 80, 128).slice(2, 0, 70),
                randn(s, 1, 2, 80, 128).slice(2, 0, 70), AttentionMask.causalOnly(), 0.09f, 0f, randn(s, 1, 4, 65, 128),
                randn(s, 1, 4, 65), randn(s, 1, 4, 65, 128), f32(s, 1, 4, 65, 128), f32(s, 1, 2, 70, 128),
                f32(s, 1, 2, 70, 128)));
        // bf16 q, k, v take the tensor-core kernels (their own grids and shared memory sizes; D <= 64 a variant);
        // D = 64 with a sliding window of 20 and a soft cap of 30
        for (int hd : new int[]{64, 128}) {
            AttentionMask mask = AttentionMask.causalOnly().withWindow(hd == 64 ? 20 : 0);
            float softCap = hd == 64 ? 30f : 0f;
            String v = " bf16 D=" + hd + " over a cache view" + (hd == 64 ? ", window 20, soft cap 30" : "");
            c.put("attention.attention" + v, (k, s) -> k.attention().attention(
                    randn(s, DType.BF16, 1, 4, 65, hd), randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70),
                    randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70), mask, 0.09f, softCap,
                    f32(s, 1, 4, 65, hd), f32(s, 1, 4, 65)));
            c.put("attention.attentionBackward" + v, (k, s) -> k.attention()
                    .attentionBackward(randn(s, DType.BF16, 1, 4, 65, hd),
                            randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70),
                            randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70), mask, 0.09f, softCap,
                            randn(s, 1, 4, 65, hd), randn(s, 1, 4, 65), randn(s, 1, 4, 65, hd), f32(s, 1, 4, 65, hd),
                            f32(s, 1, 2, 70, hd), f32(s, 1, 2, 70, hd)));
        }
        // head dimensions past 128 (Gemma's 256): the f32 *_d256 kernels, and on tensor cores the forward's *_d256
        // variant and two column slices of dq and dk, dv; D = 200 (f32) and 208 (bf16) fill their last ones partly;
        // past 256 (Gemma 4's 512) the f32 *_d512 kernels, which bf16 inputs take converted
        for (int hd : new int[]{200, 256, 512}) {
            AttentionMask mask = AttentionMask.causalOnly().withWindow(20);
            c.put("attention.attention f32 D=" + hd + " over a cache view, window 20, soft cap 30",
                    (k, s) -> k.attention().attention(randn(s, 1, 4, 65, hd), randn(s, 1, 2, 80, hd).slice(2, 0, 70),
                            randn(s, 1, 2, 80, hd).slice(2, 0, 70), mask, 0.06f, 30f, f32(s, 1, 4, 65, hd),
                            f32(s, 1, 4, 65)));
            c.put("attention.attentionBackward f32 D=" + hd + " over a cache view, window 20, soft cap 30",
                    (k, s) -> k.attention().attentionBackward(randn(s, 1, 4, 65, hd),
                            randn(s, 1, 2, 80, hd).slice(2, 0, 70), randn(s, 1, 2, 80, hd).slice(2, 0, 70), mask,
                            0.06f, 30f, randn(s, 1, 4, 65, hd), randn(s, 1, 4, 65), randn(s, 1, 4, 65, hd),
                            f32(s, 1, 4, 65, hd), f32(s, 1, 2, 70, hd), f32(s, 1, 2, 70, hd)));
        }
        for (int hd : new int[]{208, 256, 512}) {
            AttentionMask mask = AttentionMask.causalOnly().withWindow(20);
            c.put("attention.attention bf16 D=" + hd + " over a cache view, window 20, soft cap 30",
                    (k, s) -> k.attention().attention(randn(s, DType.BF16, 1, 4, 65, hd),
                            randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70),
                            randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70), mask, 0.06f, 30f,
                            zeros(s, DType.BF16, 1, 65, 4, hd).permute(0, 2, 1, 3), f32(s, 1, 4, 65)));
            c.put("attention.attentionBackward bf16 D=" + hd + " over a cache view, window 20, soft cap 30",
                    (k, s) -> k.attention().attentionBackward(randn(s, DType.BF16, 1, 4, 65, hd),
                            randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70),
                            randn(s, DType.BF16, 1, 2, 80, hd).slice(2, 0, 70), mask, 0.06f, 30f,
                            randn(s, 1, 4, 65, hd), randn(s, 1, 4, 65), randn(s, 1, 4, 65, hd), f32(s, 1, 4, 65, hd),
                            f32(s, 1, 2, 70, hd), f32(s, 1, 2, 70, hd)));
        }
        // dropout of the probabilities: the *_dropout twins, one more argument (f32: 64-row, *_d256 and *_d512
        // kernels; tensor cores: D = 64 on the kernels for D up to 128, and D = 256 in two column slices)
        AttentionDropout dropout = new AttentionDropout(0.3f, new DropoutKey(0x5EEDL, 11, 4));
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            for (int hd : type == DType.F32 ? new int[]{8, 200, 512} : new int[]{64, 256}) {
                String v = " dropout " + type + " D=" + hd + " over a cache view, window 3, soft cap 30";
                c.put("attention.attention" + v, (k, s) -> k.attention().attention(randn(s, type, 2, 4, 5, hd),
                        randn(s, type, 2, 2, 9, hd).slice(2, 0, 7), randn(s, type, 2, 2, 9, hd).slice(2, 0, 7),
                        windowed, 0.06f, 30f, randn(s, 4), dropout, f32(s, 2, 4, 5, hd), f32(s, 2, 4, 5)));
                c.put("attention.attentionBackward" + v, (k, s) -> k.attention().attentionBackward(
                        randn(s, type, 2, 4, 5, hd), randn(s, type, 2, 2, 9, hd).slice(2, 0, 7),
                        randn(s, type, 2, 2, 9, hd).slice(2, 0, 7), windowed, 0.06f, 30f, dropout,
                        randn(s, 2, 4, 5, hd), randn(s, 2, 4, 5), randn(s, 2, 4, 5, hd), f32(s, 2, 4, 5, hd),
                        f32(s, 2, 2, 7, hd), f32(s, 2, 2, 7, hd)));
            }
        }
        c.put("embedding.gather", (k, s) -> k.embedding().gather(randn(s, DType.BF16, 10, 16), ids(), f32(s, 6, 16)));
        c.put("embedding.scatterAdd", (k, s) -> k.embedding().scatterAdd(randn(s, 6, 16), ids(), f32(s, 10, 16)));
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            c.put("crossEntropy.tokenLogProbs " + type, (k, s) -> k.crossEntropy().tokenLogProbs(
                    randn(s, type, 4, 500), labels(), -100, f32(s, 4), f32(s, 4), f32(s, 4)));
            c.put("crossEntropy.tokenLogProbsBackward " + type, (k, s) -> k.crossEntropy().tokenLogProbsBackward(
                    randn(s, type, 4, 500), labels(), -100, randn(s, 4), randn(s, 4), randn(s, 4),
                    f32(s, 4, 500)));
        }
        c.put("dropout.apply", (k, s) -> k.dropout().apply(randn(s, 3, 101).transpose(0, 1), 0.3f,
                new DropoutKey(0x1234L, 17, 3), f32(s, 101, 3)));
        c.put("optimizer.adamw", (k, s) -> k.optimizer().adamw(randn(s, 300), randn(s, 300), randn(s, 300),
                randn(s, 300), new AdamWStep(0.999f, 0.1f, 0.999f, 0.001f, 1e-8f, -0.01f, 0.2f)));
        c.put("optimizer.adamw of many", (k, s) -> k.optimizer().adamw(List.of(randn(s, 300), randn(s, 9)),
                List.of(randn(s, 300), randn(s, 9)), List.of(randn(s, 300), randn(s, 9)),
                List.of(randn(s, 300), randn(s, 9)), new AdamWStep(0.999f, 0.1f, 0.999f, 0.001f, 1e-8f, -0.01f, 0.2f),
                f32(s, 3)));
        c.put("optimizer.updateGate", (k, s) -> k.optimizer().updateGate(randn(s, 37), randn(s, 2), 1f, f32(s, 3)));
        c.put("optimizer.sgd", (k, s) -> k.optimizer().sgd(randn(s, 200), randn(s, 200), randn(s, 200),
                new SgdStep(-0.1f, 0.01f, 0.9f, 1f, true, false), f32(s, 3)));
        c.put("optimizer.sgd without momentum", (k, s) -> k.optimizer().sgd(randn(s, 200), randn(s, 200), null,
                new SgdStep(-0.1f, 0f, 0f, 1f, false, false)));
        c.put("quantization.quantizeNf4", (k, s) -> nf4(k, s, 70, 130));
        c.put("quantization.dequantizeNf4", (k, s) -> k.quantization().dequantizeNf4(nf4(k, s, 70, 130), 64,
                f32(s, 69, 130)));
        for (boolean past : new boolean[]{false, true}) {
            String p = past ? " after past inputs" : "";
            c.put("recurrent.causalConv1d" + p, (k, s) -> k.recurrent().causalConv1d(randn(s, 2, 5, 40),
                    past ? randn(s, 2, 3, 40) : null, randn(s, 40, 4), null, null, true, f32(s, 2, 5, 40)));
            c.put("recurrent.causalConv1dBackward" + p, (k, s) -> k.recurrent().causalConv1dBackward(
                    randn(s, 2, 5, 40), past ? randn(s, 2, 3, 40) : null, randn(s, 40, 4), null, null, true,
                    randn(s, 2, 5, 40), f32(s, 2, 5, 40), f32(s, 40, 4), null));
        }
        c.put("recurrent.causalConv1d with biases", (k, s) -> k.recurrent().causalConv1d(randn(s, 2, 5, 40),
                null, randn(s, 40, 4), randn(s, 40), null, true, f32(s, 2, 5, 40)));
        c.put("recurrent.causalConv1dBackward with biases", (k, s) -> k.recurrent().causalConv1dBackward(
                randn(s, 2, 5, 40), randn(s, 2, 3, 40), randn(s, 40, 4), randn(s, 40), null, true, randn(s, 2, 5, 40),
                f32(s, 2, 5, 40), f32(s, 40, 4), f32(s, 40)));
        c.put("recurrent.causalConv1d of packed examples", (k, s) -> k.recurrent().causalConv1d(
                randn(s, 2, 5, 40), null, randn(s, 40, 4), randn(s, 40), f32(s, 2, 5), true, f32(s, 2, 5, 40)));
        c.put("recurrent.causalConv1dBackward of packed examples", (k, s) -> k.recurrent().causalConv1dBackward(
                randn(s, 2, 5, 40), null, randn(s, 40, 4), randn(s, 40), f32(s, 2, 5), true, randn(s, 2, 5, 40),
                f32(s, 2, 5, 40), f32(s, 40, 4), f32(s, 40)));
        c.put("recurrent.causalConv1dBackward of frozen filters", (k, s) -> k.recurrent()
                .causalConv1dBackward(randn(s, 2, 5, 40), null, randn(s, 40, 4), null, null, true, randn(s, 2, 5, 40),
                        f32(s, 2, 5, 40), null, null));
        c.put("recurrent.causalConv1dBackward of frozen filters, trained biases", (k, s) -> k.recurrent()
                .causalConv1dBackward(randn(s, 2, 5, 40), null, randn(s, 40, 4), randn(s, 40), null, true,
                        randn(s, 2, 5, 40), f32(s, 2, 5, 40), null, f32(s, 40)));
        // LFM2's: no SiLU, so the backward reads dy as the pre-activations' gradient
        c.put("recurrent.causalConv1d without silu", (k, s) -> k.recurrent().causalConv1d(randn(s, 2, 5, 40),
                randn(s, 2, 2, 40), randn(s, 40, 3), randn(s, 40), null, false, f32(s, 2, 5, 40)));
        c.put("recurrent.causalConv1dBackward without silu", (k, s) -> k.recurrent().causalConv1dBackward(
                randn(s, 2, 5, 40), randn(s, 2, 2, 40), randn(s, 40, 3), randn(s, 40), null, false, randn(s, 2, 5, 40),
                f32(s, 2, 5, 40), f32(s, 40, 3), f32(s, 40)));
        // 70 tokens: two kept states; Dk = 20, Dv = 40: a partial row of threads and a partial slice of columns
        for (StateUpdate update : StateUpdate.values()) {
            for (boolean kept : new boolean[]{false, true}) {
                c.put("recurrent.gatedRule " + update + (kept ? "" : " without kept states"), (k, s) -> k.recurrent()
                        .gatedRule(update, randn(s, 1, 70, 2, 20), randn(s, 1, 70, 2, 20), randn(s, 1, 70, 2, 40),
                                randn(s, 1, 70, 2), randn(s, 1, 70, 2), kept ? f32(s, 1, 70) : null,
                                randn(s, 1, 2, 20, 40), f32(s, 1, 70, 2, 40), kept ? f32(s, 1, 2, 2, 20, 40) : null));
            }
            c.put("recurrent.gatedRuleBackward " + update, (k, s) -> k.recurrent().gatedRuleBackward(update,
                    randn(s, 1, 70, 2, 20), randn(s, 1, 70, 2, 20), randn(s, 1, 70, 2, 40), randn(s, 1, 70, 2),
                    randn(s, 1, 70, 2), f32(s, 1, 70), randn(s, 1, 2, 2, 20, 40), randn(s, 1, 70, 2, 40), f32(s, 1, 70, 2, 20),
                    f32(s, 1, 70, 2, 20), f32(s, 1, 70, 2, 40), f32(s, 1, 70, 2), f32(s, 1, 70, 2)));
        }
        return c;
    }

    private static Tensor ids() {
        return input(Tensor.ofLongs(DEVICE, new long[]{3, 0, 9, 3, 3, 7}, Shape.of(6)));
    }

    private static Tensor labels() {
        return input(Tensor.ofInts(DEVICE, new int[]{5, -100, 499, 0}, Shape.of(4)));
    }

    @TestFactory
    Stream<DynamicTest> everyOpLaunchesWithinItsKernelsContracts() {
        FakeCuda fake = FakeCudaProvider.libraries();
        return cases().entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            int before = fake.queued();
            try (TensorScope s = TensorScope.open()) {
                e.getValue().run(DEVICE.backend().kernels(), s);
            }
            assertTrue(fake.queued() > before, e.getKey() + " queued no work on the device");
        }));
    }

    /**
     * With dropout every attention kernel but the delta is its *_dropout twin, and on tensor cores D = 64 takes the
     * twins of the kernels for D up to 128 (the *_d64 variants have none).
     */
    @Test
    void dropoutLaunchesTheDropoutTwins() {
        FakeCuda fake = FakeCudaProvider.libraries();
        AttentionDropout dropout = new AttentionDropout(0.1f, new DropoutKey(1, 2, 3));
        record Case(DType type, int hd, List<String> kernels) {
        }
        for (Case c : List.of(
                new Case(DType.F32, 8, List.of("attention_forward_dropout", "attention_backward_kv_dropout",
                        "attention_backward_q_dropout")),
                new Case(DType.F32, 200, List.of("attention_forward_d256_dropout",
                        "attention_backward_kv_d256_dropout", "attention_backward_q_d256_dropout")),
                new Case(DType.BF16, 64, List.of("attention_forward_bf16_dropout",
                        "attention_backward_kv_bf16_dropout", "attention_backward_q_bf16_dropout")),
                new Case(DType.BF16, 256, List.of("attention_forward_bf16_d256_dropout",
                        "attention_backward_kv_bf16_dropout", "attention_backward_q_bf16_dropout")),
                new Case(DType.BF16, 512, List.of("attention_forward_d512_dropout",
                        "attention_backward_kv_d512_dropout", "attention_backward_q_d512_dropout")))) {
            int before = fake.launches().size();
            int hd = c.hd();
            try (TensorScope s = TensorScope.open()) {
                Tensor q = randn(s, c.type(), 1, 2, 5, hd);
                Tensor k = randn(s, c.type(), 1, 1, 7, hd);
                Tensor v = randn(s, c.type(), 1, 1, 7, hd);
                var kernels = DEVICE.backend().kernels().attention();
                kernels.attention(q, k, v, AttentionMask.causalOnly(), 0.1f, 0f, null, dropout, f32(s, 1, 2, 5, hd),
                        f32(s, 1, 2, 5));
                kernels.attentionBackward(q, k, v, AttentionMask.causalOnly(), 0.1f, 0f, dropout,
                        randn(s, 1, 2, 5, hd), randn(s, 1, 2, 5), randn(s, 1, 2, 5, hd), f32(s, 1, 2, 5, hd),
                        f32(s, 1, 1, 7, hd), f32(s, 1, 1, 7, hd));
            }
            List<String> launched = fake.launches().subList(before, fake.launches().size()).stream()
                    .filter(l -> l.family().startsWith("attention") && !l.kernel().equals("attention_delta"))
                    .map(FakeCuda.Launch::kernel).toList();
            assertEquals(c.kernels(), launched, c.toString());
        }
    }

    /**
     * At D = 256 the attention kernels take more than the 48 KiB of shared memory a launch gets by default, reserved
     * up to the card's opt-in limit (Hopper's 227 KiB): the f32 *_d256 kernels' 32-row tiles and the tensor-core
     * kernels' bf16 tiles, dq's the largest; the tensor-core dq and dk, dv grids hold two column slices.
     */
    @Test
    void gemmasHeadDimensionLaunchesWithinTheCardsSharedMemory() {
        FakeCuda fake = FakeCudaProvider.libraries();
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            int before = fake.launches().size();
            try (TensorScope s = TensorScope.open()) {
                Tensor q = randn(s, type, 1, 4, 65, 256);
                Tensor k = randn(s, type, 1, 2, 70, 256);
                Tensor v = randn(s, type, 1, 2, 70, 256);
                AttentionMask mask = AttentionMask.causalOnly().withWindow(20);
                var kernels = DEVICE.backend().kernels().attention();
                kernels.attention(q, k, v, mask, 0.06f, 30f, f32(s, 1, 4, 65, 256), f32(s, 1, 4, 65));
                kernels.attentionBackward(q, k, v, mask, 0.06f, 30f, randn(s, 1, 4, 65, 256), randn(s, 1, 4, 65),
                        randn(s, 1, 4, 65, 256), f32(s, 1, 4, 65, 256), f32(s, 1, 2, 70, 256), f32(s, 1, 2, 70, 256));
            }
            List<FakeCuda.Launch> launches = fake.launches().subList(before, fake.launches().size()).stream()
                    .filter(l -> l.family().startsWith("attention") && !l.kernel().equals("attention_delta"))
                    .toList();
            // grids: B * H * ceil(T / rows) query tiles, B * Hkv * ceil(S / rows) key tiles (times 2 slices)
            List<FakeCuda.Launch> expected = type == DType.F32
                    ? List.of(new FakeCuda.Launch("attention", "attention_forward_d256", 12, 256,
                                    (3 * 32 * 260 + 32 * 80) * 4),
                            new FakeCuda.Launch("attention", "attention_backward_kv_d256", 6, 256,
                                    (4 * 32 * 260 + 32 * 80) * 4),
                            new FakeCuda.Launch("attention", "attention_backward_q_d256", 12, 256,
                                    (4 * 32 * 260 + 32 * 80) * 4))
                    : List.of(new FakeCuda.Launch("attention_bf16", "attention_forward_bf16_d256", 4, 256,
                                    (128 + 2 * 64) * 264 * 2),
                            new FakeCuda.Launch("attention_bf16", "attention_backward_kv_bf16", 2 * 2, 256,
                                    (2 * 128 + 2 * 32) * 264 * 2),
                            new FakeCuda.Launch("attention_bf16", "attention_backward_q_bf16", 2 * 4, 256,
                                    (2 * 128 + 2 * 64) * 264 * 2));
            assertEquals(expected, launches);
            for (FakeCuda.Launch l : launches) {
                assertTrue(l.sharedBytes() > 48 * 1024
                        && l.sharedBytes() + FakeCuda.STATIC_SHARED <= FakeCuda.MAX_SHARED_OPTIN, l.toString());
            }
        }
    }

    /**
     * Past D = 256 (Gemma 4's full-attention layers, 512) attention runs the f32 *_d512 kernels, 16 queries or keys a
     * tile, within an A100's shared memory (134 KiB at D = 512); bf16 inputs take them too, converted, even where the
     * tensor-core dq kernel's tiles would fit Hopper's blocks (D = 272: 210 KiB), as the tensor-core forward holds no
     * more than 256 columns.
     */
    @Test
    void headDimensionsPast256LaunchTheF32KernelsWithTilesOf16() {
        FakeCuda fake = FakeCudaProvider.libraries();
        record Case(DType type, int hd, int stride) {
        }
        for (Case c : List.of(new Case(DType.F32, 512, 516), new Case(DType.BF16, 512, 516),
                new Case(DType.BF16, 272, 276))) {
            int before = fake.launches().size();
            int hd = c.hd();
            try (TensorScope s = TensorScope.open()) {
                Tensor q = randn(s, c.type(), 1, 4, 65, hd);
                Tensor k = randn(s, c.type(), 1, 2, 70, hd);
                Tensor v = randn(s, c.type(), 1, 2, 70, hd);
                AttentionMask mask = AttentionMask.causalOnly().withWindow(20);
                var kernels = DEVICE.backend().kernels().attention();
                kernels.attention(q, k, v, mask, 0.06f, 30f, f32(s, 1, 4, 65, hd), f32(s, 1, 4, 65));
                kernels.attentionBackward(q, k, v, mask, 0.06f, 30f, randn(s, 1, 4, 65, hd), randn(s, 1, 4, 65),
                        randn(s, 1, 4, 65, hd), f32(s, 1, 4, 65, hd), f32(s, 1, 2, 70, hd), f32(s, 1, 2, 70, hd));
            }
            List<FakeCuda.Launch> launches = fake.launches().subList(before, fake.launches().size()).stream()
                    .filter(l -> l.family().startsWith("attention") && !l.kernel().equals("attention_delta"))
                    .toList();
            // grids: 1 * 4 heads * ceil(65 / 16) query tiles, 1 * 2 kv heads * ceil(70 / 16) key tiles; shared: three
            // or four tiles of 16 rows at the padded stride and the 16 x 80 probability tile
            assertEquals(List.of(new FakeCuda.Launch("attention", "attention_forward_d512", 20, 256,
                            (3 * 16 * c.stride() + 16 * 80) * 4),
                    new FakeCuda.Launch("attention", "attention_backward_kv_d512", 10, 256,
                            (4 * 16 * c.stride() + 16 * 80) * 4),
                    new FakeCuda.Launch("attention", "attention_backward_q_d512", 20, 256,
                            (4 * 16 * c.stride() + 16 * 80) * 4)), launches, c.toString());
            for (FakeCuda.Launch l : launches) {
                assertTrue(l.sharedBytes() + FakeCuda.STATIC_SHARED <= 163 * 1024, l.toString());
            }
        }
        // the widest head the kernels declare (maxHeadDim, which latent attention reads) is the widest they take
        var kernels = DEVICE.backend().kernels().attention();
        int wider = kernels.maxHeadDim() + 1;
        try (TensorScope s = TensorScope.open()) {
            Tensor q = randn(s, 1, 1, 3, wider);
            assertThrows(IllegalArgumentException.class, () -> kernels.attention(q, q, q, AttentionMask.causalOnly(),
                    0.06f, 0f, f32(s, 1, 1, 3, wider), f32(s, 1, 1, 3)));
        }
    }

    /**
     * The delta rule's kernels keep a state column's rows in registers, so longer keys are refused with what to do;
     * an operand of the wrong shape is refused naming it, its layout and the expected sizes.
     */
    @Test
    void theRecurrenceRefusesKeysPastItsRegistersAndMisshapenOperands() {
        try (TensorScope s = TensorScope.open()) {
            var kernels = DEVICE.backend().kernels().recurrent();
            Tensor wide = randn(s, 1, 3, 1, 264);
            var e = assertThrows(IllegalArgumentException.class, () -> kernels.gatedRule(StateUpdate.DELTA, wide, wide,
                    randn(s, 1, 3, 1, 8), randn(s, 1, 3, 1), randn(s, 1, 3, 1), null, f32(s, 1, 1, 264, 8),
                    f32(s, 1, 3, 1, 8), null));
            assertEquals("gated rule: the CUDA kernels take key dimensions up to 256 (a state column's rows in"
                    + " one block's registers), got Dk = 264; run this layer on the CPU backend", e.getMessage());
            Tensor q = randn(s, 1, 3, 1, 20);
            e = assertThrows(IllegalArgumentException.class, () -> kernels.gatedRule(StateUpdate.ADDITIVE, q, q,
                    randn(s, 1, 3, 1, 8), randn(s, 1, 3, 1), randn(s, 1, 3, 1), null, f32(s, 1, 1, 8, 20),
                    f32(s, 1, 3, 1, 8), null));
            assertEquals("gated rule: state must be (B, H, Dk, Dv) = [1, 1, 20, 8], got [1, 1, 8, 20]; shape it"
                    + " as RecurrentKernels documents", e.getMessage());
        }
    }

    @Test
    void everyOpOfEveryFamilyHasACase() {
        TreeSet<String> ops = new TreeSet<>();
        for (RecordComponent family : KernelFamilies.class.getRecordComponents()) {
            for (Method m : family.getType().getMethods()) {
                // default ops too: CUDA implements them its own way; a capability (no operands, such as
                // attention.maxHeadDim) launches nothing
                if (!Modifier.isStatic(m.getModifiers()) && m.getParameterCount() > 0) {
                    ops.add(family.getName() + "." + m.getName());
                }
            }
        }
        TreeSet<String> covered = new TreeSet<>();
        cases().keySet().forEach(name -> covered.add(name.split(" ")[0]));
        assertEquals(ops, covered);
    }

    /** Runs {@code body} with the driver and kernels of a fresh fake device. */
    private static void withKernels(FakeCuda fake, BiConsumer<CudaDriver, CudaKernels> body) {
        NativeFunctions f = new NativeFunctions(fake);
        CudaDriver driver = new CudaDriver(f);
        try (CudaContext context = new CudaContext(driver, 0);
             CudaKernels kernels = new CudaKernels(driver, new Nvrtc(f), context,
                     new KernelCache(Path.of("target", "fake-cuda-kernels")), true)) {
            body.accept(driver, kernels);
        }
    }

    @Test
    void withSyncEachLaunchAKernelThatFaultsIsNamed() {
        FakeCuda fake = new FakeCuda();
        withKernels(fake, (driver, kernels) -> {
            fake.failNextSynchronize(700);
            try (KernelArgs args = softmaxArgs()) {
                var e = assertThrows(CudaException.class, () -> kernels.launch("softmax", "softmax_forward", 3, 0,
                        args));
                assertTrue(e.getMessage().startsWith("softmax.cu's softmax_forward (grid 3, 0 bytes of dynamic shared"
                        + " memory) failed on the device: cuStreamSynchronize failed: unknown error (code 700). A kernel"
                        + " failed on the device, and the CUDA context of this process is lost"), e.getMessage());
                assertEquals(700, e.status());
            }
        });
    }

    @Test
    void theFakeDriverCatchesAViewPastItsAllocationAndAMisalignedPointer() {
        withKernels(new FakeCuda(), (driver, kernels) -> {
            long block = driver.memAlloc(256 * Float.BYTES);
            for (int n : new int[]{256, 257}) {
                long[] view = new long[2 + 2 * KernelArgs.MAX_RANK];
                view[0] = 1;
                view[2] = n;
                view[2 + KernelArgs.MAX_RANK] = 1;
                // fill_view(void* dst, int dstType, View dv, float value, long long n)
                try (KernelArgs args = new KernelArgs().ptr(block).i32(DType.F32.ordinal()).longs(view).f32(1f)
                        .i64(n)) {
                    if (n == 256) {
                        kernels.launch("copy", "fill_view", 1, 0, args);
                    } else {
                        var e = assertThrows(AssertionError.class, () -> kernels.launch("copy", "fill_view", 1, 0,
                                args));
                        assertTrue(e.getMessage().contains("viewed as F32 elements [0, 256]"), e.getMessage());
                    }
                }
            }
            try (KernelArgs args = new KernelArgs().ptr(block + 2).ptr(block).i64(10).i32(0)) {
                var e = assertThrows(AssertionError.class, () -> kernels.launch("softmax", "softmax_forward", 1, 0,
                        args));
                assertTrue(e.getMessage().contains("is not 4-byte aligned"), e.getMessage());
            }
        });
    }

    /** Arguments that match softmax_forward(const float* x, float* y, long long V, int log). */
    private static KernelArgs softmaxArgs() {
        return new KernelArgs().ptr(0).ptr(0).i64(100).i32(1);
    }

    @Test
    void sharedMemoryOverTheDefaultIsReservedCountingTheKernelsStaticSharedMemory() {
        FakeCuda fake = new FakeCuda();
        withKernels(fake, (driver, kernels) -> {
            // 48 KiB of dynamic memory fits a launch by default only without static shared memory
            try (KernelArgs args = softmaxArgs()) {
                kernels.launch("softmax", "softmax_forward", 1, 48 * 1024, args);
            }
            int most = FakeCuda.MAX_SHARED_OPTIN - FakeCuda.STATIC_SHARED;
            try (KernelArgs args = softmaxArgs()) {
                kernels.launch("softmax", "softmax_forward", 1, most, args);
            }
            try (KernelArgs args = softmaxArgs()) {
                var e = assertThrows(IllegalArgumentException.class,
                        () -> kernels.launch("softmax", "softmax_forward", 1, most + 1, args));
                assertEquals("softmax.softmax_forward needs " + (most + 1) + " bytes of dynamic shared memory on top"
                        + " of its " + FakeCuda.STATIC_SHARED + " static bytes, the card has "
                        + FakeCuda.MAX_SHARED_OPTIN + " per block; run this shape on the CPU backend or a newer card",
                        e.getMessage());
            }
        });
        assertEquals(List.of(48 * 1024, FakeCuda.MAX_SHARED_OPTIN - FakeCuda.STATIC_SHARED),
                fake.launches().stream().map(FakeCuda.Launch::sharedBytes).toList());
    }

    @Test
    void aLaunchThatDoesNotMatchTheKernelIsRefusedBeforeTheDriver() {
        withKernels(new FakeCuda(), (driver, kernels) -> {
            KernelArgs args = new KernelArgs();
            // softmax_forward(const float* x, float* y, long long V, int log) with V and log swapped
            args.ptr(0).ptr(0).i32(1).i64(100);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> kernels.launch("softmax", "softmax_forward", 3, 0, args));
            assertEquals("launch of softmax.cu's softmax_forward does not match its C signature (a mismatch"
                    + " corrupts memory or crashes on the GPU); the kernel takes (const float* x: pointer,"
                    + " float* y: pointer, long long V: int64, int log: int32) but the launch passes (pointer,"
                    + " pointer, int32, int64); fix the KernelArgs of this launch", e.getMessage());
            var unknown = assertThrows(IllegalArgumentException.class,
                    () -> kernels.launch("softmax", "softmax_fwd", 3, 0, args));
            assertEquals("softmax.cu has no kernel softmax_fwd; its kernels are [softmax_forward,"
                    + " softmax_backward]", unknown.getMessage());
            args.close();
        });
    }
}
