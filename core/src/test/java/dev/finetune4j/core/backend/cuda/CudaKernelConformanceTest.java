package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.Xielu;
import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.backend.ElementwiseKernels.BinaryOp;
import dev.finetune4j.core.backend.ElementwiseKernels.UnaryOp;
import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.backend.cuda.GpuTensors.Input;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.finetune4j.core.backend.cuda.GpuTensors.BF16_TOLERANCE;
import static dev.finetune4j.core.backend.cuda.GpuTensors.F32_TOLERANCE;

/**
 * Every kernel family on cuda:0 against the CPU backend on random inputs, forward and backward. Needs a GPU; the
 * same checks run on the emulated device in {@link EmulatedCudaKernelConformanceTest}.
 */
class CudaKernelConformanceTest {
    /** The device the checks run on. */
    Device device() {
        return GpuTensors.GPU;
    }

    @BeforeEach
    void requireDevice() {
        assumeDevice();
    }

    /** Skips the calling test, with the reason, when the device under test cannot run here. */
    void assumeDevice() {
        GpuTensors.assumeGpu();
    }

    /** {@link GpuTensors#agree} on the device under test. */
    private void agree(String what, double tolerance, Input[] inputs, int[][] outDims, GpuTensors.KernelCall call) {
        GpuTensors.agree(device(), what, tolerance, inputs, outDims, call);
    }

    private static Input[] in(Input... inputs) {
        return inputs;
    }

    private static int[][] out(int[]... dims) {
        return dims;
    }

    private static int[] d(int... dims) {
        return dims;
    }

    @Test
    void matmulEveryTransposeAlphaAccumulateAndBatch() {
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                Input a = Input.randn(1, ta ? d(37, 19) : d(19, 37));
                Input b = Input.randn(2, tb ? d(23, 37) : d(37, 23));
                agree("gemm ta=" + ta + " tb=" + tb, F32_TOLERANCE, in(a, b, Input.randn(3, 19, 23)), out(),
                        (be, x, o) -> be.matmul().gemm(x[0], ta, x[1], tb, x[2], 0.5f, true));
            }
        }
        agree("batched gemm with a shared b", F32_TOLERANCE, in(Input.randn(4, 3, 5, 64), Input.randn(5, 64, 7)),
                out(d(3, 5, 7)), (be, x, o) -> be.matmul().gemm(x[0], false, x[1], false, o[0], 1f, false));
        agree("bf16 gemm", BF16_TOLERANCE, in(Input.randn(6, 33, 128).as(DType.BF16),
                Input.randn(7, 40, 128).as(DType.BF16)), out(d(33, 40)),
                (be, x, o) -> be.matmul().gemm(x[0], false, x[1], true, o[0], 1f, false));
        agree("bf16 weight times f32 activations", BF16_TOLERANCE, in(Input.randn(8, 9, 64),
                Input.randn(9, 48, 64).as(DType.BF16)), out(d(9, 48)),
                (be, x, o) -> be.matmul().gemm(x[0], false, x[1], true, o[0], 1f, false));
    }

    @Test
    void nf4QuantizationAndProductsWithAnNf4Weight() {
        agree("nf4 round trip", F32_TOLERANCE, in(Input.randn(60, 70, 130)), out(d(70, 130)), (be, x, o) -> {
            be.quantization().dequantizeNf4(nf4Of(be, x[0]), 0, o[0]);
        });
        for (boolean tb : new boolean[]{false, true}) {
            agree("gemm with an nf4 weight tb=" + tb, F32_TOLERANCE, in(Input.randn(61, 9, 96),
                    Input.randn(62, 96, 96)), out(d(9, 96)), (be, x, o) ->
                    be.matmul().gemm(x[0], false, nf4Of(be, x[1]), tb, o[0], 1f, false));
            // beside a bf16 operand the weight multiplies as bf16 values (QLoRA under BF16_MIXED)
            agree("bf16 gemm with an nf4 weight tb=" + tb, F32_TOLERANCE, in(Input.randn(63, 9, 96).as(DType.BF16),
                    Input.randn(64, 96, 96)), out(d(9, 96)), (be, x, o) ->
                    be.matmul().gemm(x[0], false, nf4Of(be, x[1]), tb, o[0], 1f, false));
        }
    }

    /** An empty NF4 tensor shaped like {@code t}, beside it. */
    private static Tensor nf4(Tensor t) {
        return Tensor.zeros(t.scope(), t.device(), DType.NF4, t.shape());
    }

    /** {@code t} quantized to NF4 by {@code be}. */
    private static Tensor nf4Of(Backend be, Tensor t) {
        var q = nf4(t);
        be.quantization().quantizeNf4(t, q);
        return q;
    }

    @Test
    void copyConvertsViewsAndFills() {
        agree("copy of a transposed view", 0, in(Input.randn(10, 4, 6, 5)), out(d(5, 6, 4)),
                (be, x, o) -> be.copy().copy(x[0].permute(2, 1, 0), o[0]));
        agree("f32 -> bf16 -> f32", 0, in(Input.randn(11, 7, 9)), out(d(9, 7)), (be, x, o) -> {
            var half = dev.finetune4j.core.tensor.Tensor.zeros(x[0].scope(), x[0].device(), DType.BF16, Shape.of(9, 7));
            be.copy().copy(x[0].transpose(0, 1), half);
            be.copy().copy(half, o[0]);
        });
        // three masters rounded to bf16 in one launch, read back through the single copy checked above
        agree("f32 -> bf16 of three tensors at once", 0, in(Input.randn(16, 300), Input.randn(17, 1),
                Input.randn(18, 16, 33)), out(d(300), d(1), d(16, 33)), (be, x, o) -> {
            List<dev.finetune4j.core.tensor.Tensor> halves = new java.util.ArrayList<>();
            for (var t : x) {
                halves.add(dev.finetune4j.core.tensor.Tensor.zeros(t.scope(), t.device(), DType.BF16, t.shape()));
            }
            be.copy().copy(List.of(x), halves);
            for (int i = 0; i < o.length; i++) {
                be.copy().copy(halves.get(i), o[i]);
            }
        });
        agree("fill of a slice", 0, in(Input.randn(12, 6, 8)), out(),
                (be, x, o) -> be.copy().fill(x[0].slice(1, 2, 5), 3.5f));
        agree("fill of three tensors at once", 0, in(Input.randn(13, 300), Input.randn(14, 1), Input.randn(15, 16, 33)),
                out(), (be, x, o) -> be.copy().fill(List.of(x[0], x[1], x[2]), 0f));
        agree("i64 ids copied exactly", 0, in(Input.ints(DType.I64, d(4), 3, 1L << 20, 7, 0)), out(d(4)),
                (be, x, o) -> be.copy().copy(x[0], o[0]));
    }

    @Test
    void elementwiseWithBroadcastUnaryAndAffineInPlace() {
        for (BinaryOp op : BinaryOp.values()) {
            agree("binary " + op, F32_TOLERANCE, in(Input.randn(13, 3, 4, 5), Input.positive(14, 0.5f, 4, 1)),
                    out(d(3, 4, 5)), (be, x, o) -> be.elementwise().binary(op, x[0],
                            x[1].expand(Shape.of(3, 4, 5)), o[0]));
        }
        for (UnaryOp op : UnaryOp.values()) {
            agree("unary " + op, F32_TOLERANCE, in(Input.positive(15, 0.1f, 50)), out(d(50)),
                    (be, x, o) -> be.elementwise().unary(op, x[0], o[0]));
        }
        agree("affine in place", F32_TOLERANCE, in(Input.randn(16, 40)), out(),
                (be, x, o) -> be.elementwise().affine(x[0], 1.5f, -0.25f, x[0]));
    }

    @Test
    void dotProductsAlongRowsAndColumns() {
        // 70 rows of 300: more rows than a block's warps, more columns than a warp's lanes; 300 columns of 70 for
        // dim 0: ten blocks, the last one partly past the end
        for (int dim : new int[]{0, 1}) {
            agree("dots over " + dim, F32_TOLERANCE, in(Input.randn(19, 70, 300), Input.randn(20, 70, 300)),
                    out(d(dim == 1 ? 70 : 300)), (be, x, o) -> be.reductions().dots(x[0], x[1], dim, o[0]));
            agree("dots over " + dim + " of a bf16 matrix and a transposed view", F32_TOLERANCE,
                    in(Input.randn(21, 70, 300).as(DType.BF16), Input.randn(22, 300, 70)),
                    out(d(dim == 1 ? 70 : 300)),
                    (be, x, o) -> be.reductions().dots(x[0], x[1].transpose(0, 1), dim, o[0]));
        }
    }

    /**
     * The argmax of rows, against the CPU's scan: 70 rows of 3,000 (more columns than a block's threads), a bf16 matrix,
     * rows at a stride (the last position's logits of a longer pass), and crafted rows: ties (the first wins, also
     * across warps and threads), NaN first (0), NaN elsewhere (never wins), all -inf (0).
     */
    @Test
    void argmaxOfRows() {
        GpuTensors.KernelCall argmax = (be, x, o) -> {
            Tensor columns = Tensor.empty(TensorScope.current(), x[0].device(), DType.I64, Shape.of(o[0].dim(0)));
            be.reductions().argmax(x[0], columns);
            be.copy().copy(columns, o[0]);
        };
        agree("argmax of 70 rows of 3000", 0, in(Input.randn(26, 70, 3000)), out(d(70)), argmax);
        agree("argmax of a bf16 matrix", 0, in(Input.randn(27, 9, 513).as(DType.BF16)), out(d(9)), argmax);
        agree("argmax of rows at a stride", 0, in(Input.randn(28, 4, 700)), out(d(4)),
                (be, x, o) -> {
                    Tensor columns = Tensor.empty(TensorScope.current(), x[0].device(), DType.I64, Shape.of(4));
                    be.reductions().argmax(x[0].slice(1, 100, 600), columns);
                    be.copy().copy(columns, o[0]);
                });
        float nan = Float.NaN;
        int cols = 600;
        float[] rows = new float[5 * cols];
        Arrays.fill(rows, -1f);
        rows[3] = 2f; // row 0: a tie at 3, 299 (another warp) and 577 (another thread's stride): 3 wins
        rows[299] = 2f;
        rows[577] = 2f;
        rows[cols] = nan; // row 1: NaN first, a larger value later: 0
        rows[cols + 10] = 5f;
        rows[2 * cols + 7] = nan; // row 2: NaN elsewhere never wins: 400
        rows[2 * cols + 400] = 1f;
        Arrays.fill(rows, 3 * cols, 4 * cols, Float.NEGATIVE_INFINITY); // row 3: all -inf: 0
        rows[4 * cols + 599] = 0f; // row 4: the last column
        agree("argmax of ties, NaN and -inf", 0, in(Input.ints(DType.F32, d(5, cols), rows)), out(d(5)), argmax);
    }

    @Test
    void sumToNormAndSumOfEverything() {
        agree("sumTo (1, 4, 1)", F32_TOLERANCE, in(Input.randn(17, 3, 4, 5)), out(d(1, 4, 1)),
                (be, x, o) -> be.reductions().sumTo(x[0], o[0]));
        agree("sumTo of a transposed view", F32_TOLERANCE, in(Input.randn(18, 6, 7)), out(d(7, 1)),
                (be, x, o) -> be.reductions().sumTo(x[0].transpose(0, 1), o[0]));
        // the leading or the trailing dimensions summed: the column or row sums of a matrix (a bias's gradient)
        agree("sumTo (1, 4, 5), the leading dimension summed", F32_TOLERANCE, in(Input.randn(23, 3, 4, 5)),
                out(d(1, 4, 5)), (be, x, o) -> be.reductions().sumTo(x[0], o[0]));
        agree("sumTo (1, 1, 70) of a bf16 tensor", F32_TOLERANCE, in(Input.randn(24, 9, 40, 70).as(DType.BF16)),
                out(d(1, 1, 70)), (be, x, o) -> be.reductions().sumTo(x[0], o[0]));
        agree("sumTo (3, 1, 1), the trailing dimensions summed", F32_TOLERANCE, in(Input.randn(25, 3, 40, 50)),
                out(d(3, 1, 1)), (be, x, o) -> be.reductions().sumTo(x[0], o[0]));
        agree("sum of everything", F32_TOLERANCE, in(Input.randn(19, 300, 101)), out(d(1, 1)),
                (be, x, o) -> be.reductions().sumTo(x[0], o[0]));
        agree("norm", F32_TOLERANCE, in(Input.randn(20, 1000, 77)), out(d(1)),
                (be, x, o) -> be.reductions().norm(x[0], o[0]));
        agree("norms of many tensors in one launch", F32_TOLERANCE, in(Input.randn(21, 16, 300), Input.randn(22, 1),
                Input.randn(23, 600, 16), Input.randn(24, 5000)), out(d(4)),
                (be, x, o) -> be.reductions().norms(List.of(x[0], x[1], x[2], x[3]), o[0]));
    }

    @Test
    void softmaxAndLogSoftmaxForwardAndBackward() {
        agree("softmax", F32_TOLERANCE, in(Input.randn(21, 3, 1000)), out(d(3, 1000)),
                (be, x, o) -> be.softmax().softmax(x[0], o[0]));
        agree("softmax backward", F32_TOLERANCE, in(Input.positive(22, 0f, 3, 100), Input.randn(23, 3, 100)),
                out(d(3, 100)), (be, x, o) -> be.softmax().softmaxBackward(x[0], x[1], o[0]));
        agree("log-softmax", F32_TOLERANCE, in(Input.randn(24, 5, 333)), out(d(5, 333)),
                (be, x, o) -> be.softmax().logSoftmax(x[0], o[0]));
        agree("log-softmax backward", F32_TOLERANCE, in(Input.randn(25, 5, 33), Input.randn(26, 5, 33)),
                out(d(5, 33)), (be, x, o) -> be.softmax().logSoftmaxBackward(x[0], x[1], o[0]));
    }

    @Test
    void rmsNormAndLayerNormForwardAndBackward() {
        agree("rms norm", F32_TOLERANCE, in(Input.randn(27, 2, 3, 64), Input.randn(28, 64)), out(d(2, 3, 64), d(6)),
                (be, x, o) -> be.norms().rmsNorm(x[0], x[1], 1e-6f, o[0], o[1]));
        agree("rms norm backward", F32_TOLERANCE, in(Input.randn(29, 6, 64), Input.randn(30, 6, 64),
                Input.randn(31, 64)), out(d(6), d(6, 64), d(6, 64), d(64)), (be, x, o) -> {
            be.norms().rmsNorm(x[1], x[2], 1e-6f, o[1], o[0]);
            be.norms().rmsNormBackward(x[0], x[1], x[2], o[0], o[2], false, o[3]);
        });
        agree("layer norm", F32_TOLERANCE, in(Input.randn(32, 6, 48), Input.randn(33, 48), Input.randn(34, 48)),
                out(d(6, 48), d(6), d(6)), (be, x, o) -> be.norms().layerNorm(x[0], x[1], x[2], 1e-5f, o[0], o[1], o[2]));
        agree("layer norm backward", F32_TOLERANCE, in(Input.randn(35, 6, 48), Input.randn(36, 6, 48),
                Input.randn(37, 48), Input.randn(38, 48)), out(d(6, 48), d(6), d(6), d(6, 48), d(48), d(48)),
                (be, x, o) -> {
                    be.norms().layerNorm(x[1], x[2], x[3], 1e-5f, o[0], o[1], o[2]);
                    be.norms().layerNormBackward(x[0], x[1], x[2], o[1], o[2], o[3], false, o[4], o[5]);
                });
        // weight and bias gradients over more rows than a block has warps, of columns that end mid-block
        agree("layer norm backward over 70 rows of 100", F32_TOLERANCE, in(Input.randn(75, 70, 100),
                Input.randn(76, 70, 100), Input.randn(77, 100), Input.randn(78, 100)),
                out(d(70, 100), d(70), d(70), d(70, 100), d(100), d(100)), (be, x, o) -> {
                    be.norms().layerNorm(x[1], x[2], x[3], 1e-5f, o[0], o[1], o[2]);
                    be.norms().layerNormBackward(x[0], x[1], x[2], o[1], o[2], o[3], false, o[4], o[5]);
                });
        // the gradient of x added into a residual stream's gradient so far
        agree("rms norm and layer norm backward, accumulating", F32_TOLERANCE, in(Input.randn(59, 6, 64),
                Input.randn(67, 6, 64), Input.randn(68, 64), Input.randn(69, 6, 64), Input.randn(74, 6, 64)),
                out(d(6), d(6, 64), d(6), d(6, 64)), (be, x, o) -> {
                    be.norms().rmsNorm(x[1], x[2], 1e-6f, o[1], o[0]);
                    be.copy().copy(x[3], o[1]);
                    be.norms().rmsNormBackward(x[0], x[1], x[2], o[0], o[1], true, null);
                    be.norms().layerNorm(x[1], x[2], x[2], 1e-5f, o[3], o[0], o[2]);
                    be.copy().copy(x[4], o[3]);
                    be.norms().layerNormBackward(x[0], x[1], x[2], o[0], o[2], o[3], true, null, null);
                });
        // a bf16 model's norm weights, read in their dtype (both backends widen the same bf16 values exactly)
        agree("rms norm forward and backward, bf16 weight", F32_TOLERANCE, in(Input.randn(45, 6, 64),
                Input.randn(46, 6, 64), Input.randn(47, 64).as(DType.BF16)), out(d(6), d(6, 64), d(6, 64), d(64)),
                (be, x, o) -> {
                    be.norms().rmsNorm(x[1], x[2], 1e-6f, o[1], o[0]);
                    be.norms().rmsNormBackward(x[0], x[1], x[2], o[0], o[2], false, o[3]);
                });
        agree("layer norm forward and backward, bf16 weight", F32_TOLERANCE, in(Input.randn(48, 6, 48),
                Input.randn(49, 6, 48), Input.randn(50, 48).as(DType.BF16), Input.randn(54, 48)),
                out(d(6, 48), d(6), d(6), d(6, 48), d(48), d(48)), (be, x, o) -> {
                    be.norms().layerNorm(x[1], x[2], x[3], 1e-5f, o[0], o[1], o[2]);
                    be.norms().layerNormBackward(x[0], x[1], x[2], o[1], o[2], o[3], false, o[4], o[5]);
                });
    }

    @Test
    void activationsAndSwigluForwardAndBackward() {
        for (Kind kind : Kind.values()) {
            agree(kind + " forward", F32_TOLERANCE, in(Input.randn(39, 4, 50)), out(d(4, 50)),
                    (be, x, o) -> be.activations().activation(kind, x[0], o[0]));
            agree(kind + " backward", F32_TOLERANCE, in(Input.randn(40, 4, 50), Input.randn(41, 4, 50)),
                    out(d(4, 50)), (be, x, o) -> be.activations().activationBackward(kind, x[0], x[1], o[0]));
        }
        agree("swiglu forward and backward", F32_TOLERANCE, in(Input.randn(42, 3, 40), Input.randn(43, 3, 40),
                Input.randn(44, 3, 40)), out(d(3, 40), d(3, 40), d(3, 40)), (be, x, o) -> {
            be.activations().swiglu(x[0], x[1], o[0]);
            be.activations().swigluBackward(x[0], x[1], x[2], o[1], o[2]);
        });
        agree("swiglu of bf16 gate and up, read in place", F32_TOLERANCE, in(Input.randn(51, 3, 40).as(DType.BF16),
                Input.randn(52, 3, 40).as(DType.BF16), Input.randn(53, 3, 40)), out(d(3, 40), d(3, 40), d(3, 40)),
                (be, x, o) -> {
                    be.activations().swiglu(x[0], x[1], o[0]);
                    be.activations().swigluBackward(x[0], x[1], x[2], o[1], o[2]);
                });
        // gpt-oss's clamped SwiGLU with a limit of 1 on N(0, 2) pairs: about half the values clamped
        agree("clamped swiglu forward and backward", F32_TOLERANCE, in(Input.randn(65, 3, 80).scaled(2f),
                Input.randn(66, 3, 40)), out(d(3, 40), d(3, 80)), (be, x, o) -> {
            be.activations().clampedSwiglu(x[0], 1.702f, 1f, o[0]);
            be.activations().clampedSwigluBackward(x[0], 1.702f, 1f, x[1], o[1]);
        });
        // xIELU over 47 blocks of partial sums (12,000 elements): its raw scalars' gradients reduced on the device
        agree("xielu forward and backward", F32_TOLERANCE, in(Input.randn(67, 3, 4000), Input.randn(68, 1),
                Input.randn(69, 1), Input.randn(70, 3, 4000)), out(d(3, 4000), d(3, 4000), d(1), d(1)), (be, x, o) -> {
            be.activations().xielu(x[0], x[1], x[2], Xielu.BETA, Xielu.EPS, o[0]);
            be.activations().xieluBackward(x[0], x[1], x[2], Xielu.BETA, Xielu.EPS, x[3], o[1], o[2], o[3]);
        });
        agree("xielu of bf16 input and scalars, read in place", F32_TOLERANCE, in(Input.randn(71, 3, 40).as(DType.BF16),
                Input.randn(72, 1).as(DType.BF16), Input.randn(73, 1).as(DType.BF16), Input.randn(74, 3, 40)),
                out(d(3, 40), d(3, 40), d(1), d(1)), (be, x, o) -> {
                    be.activations().xielu(x[0], x[1], x[2], Xielu.BETA, Xielu.EPS, o[0]);
                    be.activations().xieluBackward(x[0], x[1], x[2], Xielu.BETA, Xielu.EPS, x[3], o[1], o[2], o[3]);
                });
    }

    @Test
    void rotaryAndItsInverse() {
        for (boolean inverse : new boolean[]{false, true}) {
            for (RotaryLayout layout : RotaryLayout.values()) {
                agree(layout + " rotary inverse=" + inverse, F32_TOLERANCE, in(Input.randn(45, 2, 3, 5, 8),
                        Input.randn(46, 2, 5, 4), Input.randn(47, 2, 5, 4)), out(d(2, 3, 5, 8)),
                        (be, x, o) -> be.rotary().rotate(x[0], x[1], x[2], layout, inverse, o[0]));
            }
            // a partial rotary embedding (Phi-3.5, Phi-4-mini): tables of 3 frequencies rotate the first 6 of 10
            // dimensions and copy the last 4; contiguous, then from a transposed x into a transposed bf16 view
            agree("partial rotary inverse=" + inverse, F32_TOLERANCE, in(Input.randn(59, 2, 3, 5, 10),
                    Input.randn(60, 2, 5, 3), Input.randn(61, 2, 5, 3)), out(d(2, 3, 5, 10)),
                    (be, x, o) -> be.rotary().rotate(x[0], x[1], x[2], RotaryLayout.HALVES, inverse, o[0]));
            // GLM's: interleaved pairs over half of each head, between transposed views
            agree("partial interleaved rotary inverse=" + inverse + " between transposed views", F32_TOLERANCE,
                    in(Input.randn(65, 2, 5, 3, 10), Input.randn(66, 2, 5, 3), Input.randn(67, 2, 5, 3)),
                    out(d(2, 3, 5, 10)), (be, x, o) -> be.rotary().rotate(x[0].permute(0, 2, 1, 3), x[1], x[2],
                            RotaryLayout.INTERLEAVED, inverse, o[0]));
            agree("partial rotary inverse=" + inverse + " between transposed views", BF16_TOLERANCE,
                    in(Input.randn(62, 2, 5, 3, 10), Input.randn(63, 2, 5, 3), Input.randn(64, 2, 5, 3)),
                    out(d(2, 3, 5, 10)), (be, x, o) -> {
                        Tensor tokenMajor = Tensor.empty(TensorScope.current(), x[0].device(), DType.BF16,
                                Shape.of(2, 5, 3, 10));
                        be.rotary().rotate(x[0].permute(0, 2, 1, 3), x[1], x[2], RotaryLayout.HALVES, inverse,
                                tokenMajor.permute(0, 2, 1, 3));
                        be.copy().copy(tokenMajor.permute(0, 2, 1, 3), o[0]);
                    });
        }
        // one row of positions shared by the batch (a view of the decoder's kept table) and a transposed x
        agree("rotary of a shared table row", F32_TOLERANCE, in(Input.randn(48, 2, 5, 3, 8),
                Input.randn(49, 1, 5, 4), Input.randn(50, 1, 5, 4)), out(d(2, 3, 5, 8)),
                (be, x, o) -> be.rotary().rotate(x[0].permute(0, 2, 1, 3), x[1].expand(Shape.of(2, 5, 4)),
                        x[2].expand(Shape.of(2, 5, 4)), RotaryLayout.HALVES, false, o[0]));
        // the backward writes its gradient into a transposed (B, T, H, D) bf16 tensor, the projection's order
        agree("inverse rotary into a transposed bf16 view", BF16_TOLERANCE, in(Input.randn(56, 2, 3, 5, 8),
                Input.randn(57, 2, 5, 4), Input.randn(58, 2, 5, 4)), out(d(2, 3, 5, 8)), (be, x, o) -> {
                    Tensor tokenMajor = Tensor.empty(TensorScope.current(), x[0].device(), DType.BF16,
                            Shape.of(2, 5, 3, 8));
                    be.rotary().rotate(x[0], x[1], x[2], RotaryLayout.HALVES, true, tokenMajor.permute(0, 2, 1, 3));
                    be.copy().copy(tokenMajor.permute(0, 2, 1, 3), o[0]);
                });
    }

    @Test
    void attentionWithGroupedQueriesAndEveryMaskForwardAndBackward() {
        boolean[][] valid = {{false, true, true, true, true, true, true}, {true, true, true, true, true, true, true}};
        int[][] segments = {{0, 0, 0, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 2, 2}};
        AttentionMask[] masks = {AttentionMask.none(), AttentionMask.causalOnly(),
                new AttentionMask(true, valid, segments)};
        for (AttentionMask mask : masks) {
            agree("attention " + mask.causal() + " " + (mask.keyValid() != null), F32_TOLERANCE,
                    in(Input.randn(48, 2, 4, 5, 8), Input.randn(49, 2, 2, 7, 8), Input.randn(50, 2, 2, 7, 8),
                            Input.randn(51, 2, 4, 5, 8)),
                    out(d(2, 4, 5, 8), d(2, 4, 5), d(2, 4, 5, 8), d(2, 2, 7, 8), d(2, 2, 7, 8)), (be, x, o) -> {
                        be.attention().attention(x[0], x[1], x[2], mask, 0.35f, 0f, o[0], o[1]);
                        be.attention().attentionBackward(x[0], x[1], x[2], mask, 0.35f, 0f, o[0], o[1], x[3], o[2],
                                o[3], o[4]);
                    });
            // gpt-oss's sinks: the padded key of row 0 leaves its first query no key but its sink
            agree("attention with sinks " + mask.causal() + " " + (mask.keyValid() != null), F32_TOLERANCE,
                    in(Input.randn(48, 2, 4, 5, 8), Input.randn(49, 2, 2, 7, 8), Input.randn(50, 2, 2, 7, 8),
                            Input.randn(52, 4)),
                    out(d(2, 4, 5, 8), d(2, 4, 5)),
                    (be, x, o) -> be.attention().attention(x[0], x[1], x[2], mask, 0.35f, 0f, x[3], o[0], o[1]));
        }
    }

    @Test
    void attentionTilesAgreeOnTailsCachesGroupsMasksAndHeadSizes() {
        // 1030 = 16 tiles of 64 and a tail of 6; the causal mask lets query tiles skip key tiles. Groups of 4.
        attentionAgrees("causal, T = S = 1030", 1, 4, 1, 1030, 1030, 0, 64, AttentionMask.causalOnly());
        // gpt-oss: sinks on a 128-token sliding window (f32 and tensor-core kernels), the cache's padding and segments
        attentionAgrees("sinks, window 128, T = S = 300", DType.F32, 1, 8, 2, 300, 300, 0, 64,
                AttentionMask.causalOnly().withWindow(128), 0f, true);
        attentionAgrees("bf16, sinks, window 128, T = S = 300", DType.BF16, 1, 8, 2, 300, 300, 0, 64,
                AttentionMask.causalOnly().withWindow(128), 0f, true);
        attentionAgrees("bf16, sinks, cache, padding, segments", DType.BF16, 2, 8, 1, 70, 150, 0, 128,
                paddingAndSegmentsOf150Keys(), 0f, true);
        // A KV cache: 70 queries after 80 cached keys, groups of 8, D = 128, padding and packed segments.
        attentionAgrees("cache, padding, segments", 2, 8, 1, 70, 150, 0, 128, paddingAndSegmentsOf150Keys());
        // Bidirectional, one query head per kv head, D = 33 (no multiple of 16), 67 = 64 + 3; every key of row 1
        // is padding, so none of its queries sees a key.
        boolean[][] sparse = new boolean[2][67];
        for (int j = 0; j < 67; j++) {
            sparse[0][j] = j % 3 != 1;
        }
        attentionAgrees("bidirectional, odd D, a row of padding", 2, 3, 3, 67, 67, 0, 33,
                new AttentionMask(false, sparse, null));
        // Keys and values read where they lie: the first 100 positions of a 128-position cache buffer.
        attentionAgrees("cache views", 2, 8, 2, 40, 100, 28, 64, AttentionMask.causalOnly());
    }

    @Test
    void bf16AttentionOnTensorCoresAgreesOnTailsCachesGroupsMasksAndHeadSizes() {
        // bf16 q, k, v with D a multiple of 16 take the tensor-core kernels (128 queries or keys a block, dOut
        // rounded to bf16 for the products). 200 = 128 + 72 queries and keys; groups of 4.
        attentionAgrees("bf16, causal, T = S = 200", DType.BF16, 1, 4, 1, 200, 200, 0, 64, AttentionMask.causalOnly());
        attentionAgrees("bf16, cache, padding, segments", DType.BF16, 2, 8, 1, 70, 150, 0, 128,
                paddingAndSegmentsOf150Keys());
        attentionAgrees("bf16, cache views, groups of 2", DType.BF16, 2, 8, 4, 40, 100, 28, 64,
                AttentionMask.causalOnly());
        boolean[][] sparse = new boolean[2][67];
        for (int j = 0; j < 67; j++) {
            sparse[0][j] = j % 3 != 1;
        }
        attentionAgrees("bf16, bidirectional, one query head per kv head, a row of padding", DType.BF16, 2, 3, 3, 67,
                67, 0, 32, new AttentionMask(false, sparse, null));
        // D = 40 is no multiple of 16: the f32 kernels take the bf16 inputs, converted.
        attentionAgrees("bf16, D = 40 on the f32 kernels", DType.BF16, 1, 2, 1, 30, 30, 0, 40,
                AttentionMask.causalOnly());
    }

    /**
     * Sliding windows and soft caps, on the f32 kernels (64 queries or keys a tile) and the tensor-core ones (128
     * queries a block, 64 keys a tile; 128 keys and 32 queries in dk, dv): windows of 1, 3, more than S, over cached
     * keys (whole key tiles before the window and query tiles after it skipped), with padding and segments, with tails
     * of query and key tiles; caps of 0.5 (tanh far from linear on these N(0, 1) scores), with and without a window.
     */
    @Test
    void slidingWindowsAndSoftCapsAgreeInF32AndOnTensorCores() {
        boolean[][] sparse = new boolean[1][67];
        for (int j = 0; j < 67; j++) {
            sparse[0][j] = j % 3 != 1;
        }
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            int small = type == DType.F32 ? 33 : 32; // f32: no multiple of 4; bf16: the *_d64 kernels
            // bidirectional, so that a query sees itself and the keys after it (a causal window of 1 leaves one
            // key a query, p = 1 and gradients of q and k that are rounding noise around 0)
            attentionAgrees(type + ", bidirectional window 1, T = S = 130", type, 1, 4, 2, 130, 130, 0, small,
                    AttentionMask.none().withWindow(1), 0f);
            attentionAgrees(type + ", window 3, cache, padding, segments", type, 2, 8, 1, 70, 150, 0, 128,
                    paddingAndSegmentsOf150Keys().withWindow(3), 0f);
            attentionAgrees(type + ", window 500 > S = 200", type, 1, 4, 1, 200, 200, 0, 64,
                    AttentionMask.causalOnly().withWindow(500), 0f);
            // 66 = a tile and 2: the first key that query 128 sees, 63, is the last of a key tile, and the last
            // query that sees key tile [0, 64) (or [0, 128) in the tensor-core dk, dv), 128 (or 192), starts a query
            // tile, so an off-by-one in the tile skipping drops a visible pair
            attentionAgrees(type + ", window 66 at the tiles' edges", type, 1, 4, 1, 200, 200, 0, 64,
                    AttentionMask.causalOnly().withWindow(66), 0f);
            // (320-position buffers: CudaBackendTest keeps the allocator's size class of 12,345 x 7 floats unused)
            attentionAgrees(type + ", window 70 over 160 cached keys, cache views", type, 2, 8, 2, 140, 300, 20, 64,
                    AttentionMask.causalOnly().withWindow(70), 0f);
            attentionAgrees(type + ", bidirectional window 5, padding", type, 1, 3, 3, 67, 67, 0, small,
                    new AttentionMask(false, sparse, null, 5), 0f);
            attentionAgrees(type + ", soft cap 0.5, T = S = 130", type, 1, 4, 1, 130, 130, 0, 96,
                    AttentionMask.causalOnly(), 0.5f);
            attentionAgrees(type + ", soft cap 0.5, window 20, cache, padding, segments", type, 2, 8, 4, 70, 150, 0,
                    64, paddingAndSegmentsOf150Keys().withWindow(20), 0.5f);
        }
    }

    /**
     * Head dimensions past 128 (Gemma's 256): the f32 *_d256 kernels (32 queries or keys a tile), the tensor-core
     * forward's *_d256 variant and the tensor-core dq and dk, dv kernels in two slices of 128 output columns each;
     * with a window and a soft cap over cached keys read through views, padding and segments (Gemma 2's layers), over
     * tails of every tile, and at head dimensions that fill their last slice or tile row partly.
     */
    @Test
    void headDimensionsUpTo256AgreeInF32AndOnTensorCores() {
        boolean[][] sparse = new boolean[1][45];
        for (int j = 0; j < 45; j++) {
            sparse[0][j] = j % 4 != 2;
        }
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            attentionAgrees(type + ", D = 256, soft cap 0.5, window 20, cache views, padding, segments", type, 2, 4,
                    2, 70, 150, 6, 256, paddingAndSegmentsOf150Keys().withWindow(20), 0.5f);
            // 130 = 128 + 2 queries and keys (f32: 4 tiles of 32 and a tail of 2), groups of 4
            attentionAgrees(type + ", D = 256, causal, T = S = 130", type, 1, 4, 1, 130, 130, 0, 256,
                    AttentionMask.causalOnly(), 0f);
            // f32: 200 fills 50 of a thread row's 64 accumulator columns; tensor cores: 208 = 128 + 80, a partial
            // second slice; bidirectional window 5 with padding
            attentionAgrees(type + ", D = 200 / 208, bidirectional window 5, padding", type, 1, 3, 3, 45, 45, 0,
                    type == DType.F32 ? 200 : 208, new AttentionMask(false, sparse, null, 5), 0f);
        }
        // D = 136 is no multiple of 16: the f32 *_d256 kernels take the bf16 inputs, converted.
        attentionAgrees("bf16, D = 136 on the f32 kernels, causal cache", DType.BF16, 1, 2, 1, 40, 90, 0, 136,
                AttentionMask.causalOnly(), 0f);
    }

    /**
     * Head dimensions past 256 (Gemma 4's full-attention layers, 512): the f32 *_d512 kernels (16 queries or keys a
     * tile), which bf16 inputs take converted; at D = 512 over 18 queries and 24 keys (a full tile and a tail of each)
     * read through cache views, two query heads a kv head, with a causal window of 6, padding, packed segments and a
     * soft cap, and with sinks and dropout; at D = 302 (no multiple of 4: a padded last column) bidirectional with
     * padding; and bf16 at D = 272, a multiple of 16 whose tensor-core dq tiles would fit Hopper's blocks but whose
     * columns the tensor-core forward does not hold. Tiny T and S: the emulation runs every thread on the CPU.
     */
    @Test
    void headDimensionsUpTo512AgreeInF32AndBf16() {
        boolean[][] valid = new boolean[1][24];
        int[][] segments = new int[1][24];
        for (int j = 0; j < 24; j++) {
            valid[0][j] = j != 3 && j != 13 && j < 22;
            segments[0][j] = j < 10 ? 1 : 2;
        }
        AttentionMask windowed = new AttentionMask(true, valid, segments, 6);
        AttentionDropout dropout = new AttentionDropout(0.3f, new DropoutKey(0x5EED_D512L, 7, 2));
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            attentionAgrees(type + ", D = 512, window 6, soft cap 0.5, cache views, padding, segments", type, 1, 2,
                    1, 18, 24, 4, 512, windowed, 0.5f);
            attentionAgrees(type + " dropout, D = 512, sinks, causal", type, 1, 2, 1, 18, 18, 0, 512,
                    AttentionMask.causalOnly(), 0f, true, dropout);
        }
        attentionAgrees("f32, D = 302, bidirectional, padding", DType.F32, 1, 1, 1, 17, 24, 0, 302,
                new AttentionMask(false, valid, null, 0), 0f);
        attentionAgrees("bf16, D = 272 on the f32 kernels, causal", DType.BF16, 1, 2, 2, 17, 17, 0, 272,
                AttentionMask.causalOnly(), 0f);
    }

    /**
     * Dropout of the probabilities (p = 0.3) in every attention kernel that has it: the f32 64-row kernels (D = 8)
     * and *_d256 ones (D = 192: 160 would take the allocator size class CudaBackendTest keeps unused), the tensor-core
     * kernels for D up to 128 (D = 64, which dropout takes there too, and 128) and at D = 256 the forward's *_d256 and
     * two column slices of dq and dk, dv; over 70 and 65 queries (tails of every tile) after 80 and 85 cached keys
     * with padding and packed segments, with sinks, and with a window of 20 and a soft cap over cached keys read
     * through views; and causal over 130 queries and keys (several query and key tiles, T = S). Each factor depends
     * on the pair's (b, h, i, j), so a kernel that draws one pair's from another pair's index disagrees with the CPU's
     * dropped-out probabilities.
     */
    @Test
    void attentionDropoutAgreesInF32AndOnTensorCores() {
        AttentionDropout dropout = new AttentionDropout(0.3f, new DropoutKey(0x5EED_F00DL, 11, 4));
        AttentionMask windowed = paddingAndSegmentsOf150Keys().withWindow(20);
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            int[] headDims = type == DType.F32 ? new int[]{8, 192} : new int[]{64, 128, 256};
            for (int headDim : headDims) {
                String what = type + " dropout, D = " + headDim;
                attentionAgrees(what + ", sinks, cache, padding, segments", type, 2, 4, 2, 70, 150, 0, headDim,
                        paddingAndSegmentsOf150Keys(), 0f, true, dropout);
                attentionAgrees(what + ", window 20, soft cap 0.5, cache views, padding, segments", type, 2, 4, 1, 65,
                        150, 6, headDim, windowed, 0.5f, false, dropout);
            }
            attentionAgrees(type + " dropout, causal, T = S = 130", type, 1, 2, 1, 130, 130, 0, headDims[0],
                    AttentionMask.causalOnly(), 0f, false, dropout);
        }
    }

    @Test
    void attentionWritesABf16TokenMajorOutputViewInPlace() {
        // Under BF16_MIXED the attention op hands the forward a (B, T, H, D) bf16 tensor as its (B, H, T, D) view:
        // the tensor-core kernels (bf16 inputs, D = 64) and the f32 ones (D = 40) write it where it is, rounded once.
        for (DType type : new DType[]{DType.BF16, DType.F32}) {
            int headDim = type == DType.BF16 ? 64 : 40;
            agree("attention into a bf16 token-major view, " + type + " inputs", BF16_TOLERANCE,
                    in(Input.randn(64, 2, 4, 70, headDim).as(type), Input.randn(65, 2, 2, 70, headDim).as(type),
                            Input.randn(66, 2, 2, 70, headDim).as(type)),
                    out(d(2, 4, 70, headDim), d(2, 4, 70)), (be, x, o) -> {
                        Tensor tokenMajor = Tensor.empty(TensorScope.current(), x[0].device(), DType.BF16,
                                Shape.of(2, 70, 4, headDim));
                        Tensor view = tokenMajor.permute(0, 2, 1, 3);
                        be.attention().attention(x[0], x[1], x[2], AttentionMask.causalOnly(), 0.125f, 0f, view, o[1]);
                        be.copy().copy(view, o[0]);
                    });
        }
    }

    /**
     * Two rows of 150 keys with padding and packed segments: the query at position 80 of row 0 sees no key, as its
     * own key is padding and no other key shares its segment.
     */
    private static AttentionMask paddingAndSegmentsOf150Keys() {
        boolean[][] valid = new boolean[2][150];
        int[][] segments = new int[2][150];
        for (int j = 0; j < 150; j++) {
            valid[0][j] = j >= 5 && j != 80;
            valid[1][j] = j < 140;
            segments[0][j] = j < 40 ? 1 : j < 80 ? 2 : j == 80 ? 3 : 4;
            segments[1][j] = j < 100 ? 0 : 5;
        }
        return new AttentionMask(true, valid, segments);
    }

    @Test
    void attentionBackwardIsTheSameOnEveryRun() {
        // dk and dv add up 8 query heads and 11 query tiles, dq 11 key tiles: in a fixed order, without atomics. The
        // bf16 inputs take the tensor-core kernels.
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            Input[] inputs = in(Input.randn(70, 1, 8, 700, 64).as(type), Input.randn(71, 1, 1, 700, 64).as(type),
                    Input.randn(72, 1, 1, 700, 64).as(type), Input.randn(73, 1, 8, 700, 64));
            int[][] outputs = out(d(1, 8, 700, 64), d(1, 8, 700), d(1, 8, 700, 64), d(1, 1, 700, 64),
                    d(1, 1, 700, 64));
            GpuTensors.KernelCall call = (be, x, o) -> {
                be.attention().attention(x[0], x[1], x[2], AttentionMask.causalOnly(), 0.125f, 0f, o[0], o[1]);
                be.attention().attentionBackward(x[0], x[1], x[2], AttentionMask.causalOnly(), 0.125f, 0f, o[0], o[1],
                        x[3], o[2], o[3], o[4]);
            };
            float[][] first = GpuTensors.run(device(), inputs, outputs, call);
            float[][] second = GpuTensors.run(device(), inputs, outputs, call);
            for (int i = 0; i < first.length; i++) {
                GpuTensors.assertClose("attention " + type + " run twice, tensor " + i, first[i], second[i], 0);
            }
        }
    }

    /**
     * Attention forward and backward on the CPU and the GPU: q (batch, heads, queries, headDim) and k, v the first
     * {@code keys} positions of buffers of {@code keys + spareKeys} positions (views, as a KV cache hands them).
     */
    private void attentionAgrees(String what, int batch, int heads, int kvHeads, int queries, int keys,
                                        int spareKeys, int headDim, AttentionMask mask) {
        attentionAgrees(what, DType.F32, batch, heads, kvHeads, queries, keys, spareKeys, headDim, mask);
    }

    /** {@link #attentionAgrees} with q, k and v of {@code type} (dOut stays F32, as autograd hands it). */
    private void attentionAgrees(String what, DType type, int batch, int heads, int kvHeads, int queries, int keys,
                                 int spareKeys, int headDim, AttentionMask mask) {
        attentionAgrees(what, type, batch, heads, kvHeads, queries, keys, spareKeys, headDim, mask, 0f);
    }

    /** {@link #attentionAgrees} of {@code type} with the scores soft-capped at {@code softCap} (0 for none). */
    private void attentionAgrees(String what, DType type, int batch, int heads, int kvHeads, int queries, int keys,
                                 int spareKeys, int headDim, AttentionMask mask, float softCap) {
        attentionAgrees(what, type, batch, heads, kvHeads, queries, keys, spareKeys, headDim, mask, softCap, false);
    }

    /** {@link #attentionAgrees} with random per-head sink logits (gpt-oss) when {@code sinks}. */
    private void attentionAgrees(String what, DType type, int batch, int heads, int kvHeads, int queries, int keys,
                                 int spareKeys, int headDim, AttentionMask mask, float softCap, boolean sinks) {
        attentionAgrees(what, type, batch, heads, kvHeads, queries, keys, spareKeys, headDim, mask, softCap, sinks,
                null);
    }

    /** {@link #attentionAgrees} with the probabilities dropped out by {@code dropout} (null: none). */
    private void attentionAgrees(String what, DType type, int batch, int heads, int kvHeads, int queries, int keys,
                                 int spareKeys, int headDim, AttentionMask mask, float softCap, boolean sinks,
                                 AttentionDropout dropout) {
        float scale = (float) (1 / Math.sqrt(headDim));
        agree("attention, " + what, type == DType.F32 ? F32_TOLERANCE : BF16_TOLERANCE,
                in(Input.randn(60, batch, heads, queries, headDim).as(type),
                        Input.randn(61, batch, kvHeads, keys + spareKeys, headDim).as(type),
                        Input.randn(62, batch, kvHeads, keys + spareKeys, headDim).as(type),
                        Input.randn(63, batch, heads, queries, headDim), Input.randn(64, heads)),
                out(d(batch, heads, queries, headDim), d(batch, heads, queries), d(batch, heads, queries, headDim),
                        d(batch, kvHeads, keys, headDim), d(batch, kvHeads, keys, headDim)), (be, x, o) -> {
                    Tensor k = x[1].slice(2, 0, keys);
                    Tensor v = x[2].slice(2, 0, keys);
                    be.attention().attention(x[0], k, v, mask, scale, softCap, sinks ? x[4] : null, dropout, o[0],
                            o[1]);
                    be.attention().attentionBackward(x[0], k, v, mask, scale, softCap, dropout, o[0], o[1], x[3],
                            o[2], o[3], o[4]);
                });
    }

    /**
     * Linear attention's kernels, forward and backward: the convolution from zeros and after a generation's past
     * inputs, without and with biases, and over packed examples, over 40 channels (a partial second block of the
     * filter gradient) and more (b, t) rows than a block has warps; the delta rule and the additive update each over
     * 130 tokens (three kept states, the last chunk two tokens) from a given state with Dk = 20 (a partial row of each
     * column's threads) and Dv = 40 (a partial second slice of 32 columns), over 70 tokens at Dk = 128, Dv = 64, also
     * without kept states, and over packed examples (starting within a kept state's stretch, on one, and one token
     * long). Outputs start as NaN, so that one left unwritten fails.
     */
    @Test
    void causalConvolutionAndGatedRulesForwardAndBackward() {
        for (int variant = 0; variant < 6; variant++) {
            boolean withPast = variant % 2 == 1 && variant != 4;
            boolean withBias = variant >= 2;
            boolean packed = variant == 4;
            boolean silu = variant < 5; // LFM2's convolution has none
            agree("causal conv1d, silu " + silu + ", past inputs " + withPast + ", biases " + withBias + ", packed "
                            + packed,
                    F32_TOLERANCE, in(Input.randn(100, 2, 70, 40), Input.randn(101, 2, 3, 40), Input.randn(102, 40, 4),
                            Input.randn(103, 2, 70, 40), Input.randn(104, 40), offsets(2, 70, 1, 3, 40)),
                    out(d(2, 70, 40), d(2, 70, 40), d(40, 4), d(40)), (be, x, o) -> {
                        Tensor past = withPast ? x[1] : null;
                        Tensor bias = withBias ? x[4] : null;
                        Tensor starts = packed ? x[5] : null;
                        be.copy().fill(List.of(o), Float.NaN);
                        if (!withBias) {
                            be.copy().fill(o[3], 0f); // no bias, no bias gradient
                        }
                        be.recurrent().causalConv1d(x[0], past, x[2], bias, starts, silu, o[0]);
                        be.recurrent().causalConv1dBackward(x[0], past, x[2], bias, starts, silu, x[3], o[1], o[2],
                                withBias ? o[3] : null);
                    });
        }
        for (StateUpdate update : StateUpdate.values()) {
            ruleAgrees(update, 2, 2 * RecurrentKernels.STATE_INTERVAL + 2, 2, 20, 40, null);
            ruleAgrees(update, 1, RecurrentKernels.STATE_INTERVAL + 6, 1, 128, 64, null);
            // examples starting within a kept state's stretch, on one, and one token long
            ruleAgrees(update, 2, 2 * RecurrentKernels.STATE_INTERVAL + 2, 2, 20, 40,
                    offsets(2, 2 * RecurrentKernels.STATE_INTERVAL + 2, 37, RecurrentKernels.STATE_INTERVAL, 100, 101));
        }
    }

    /**
     * Each token's position within its packed example, (batch, tokens): every row's examples start at token 0 and at
     * {@code starts}.
     */
    private static Input offsets(int batch, int tokens, int... starts) {
        float[] v = new float[batch * tokens];
        for (int b = 0; b < batch; b++) {
            for (int t = 1; t < tokens; t++) {
                int at = t;
                v[b * tokens + t] = Arrays.stream(starts).anyMatch(s -> s == at) ? 0 : v[b * tokens + t - 1] + 1;
            }
        }
        return new Input(v, new int[]{batch, tokens}, DType.F32);
    }

    /**
     * A gated recurrence on the CPU and the device from a random state, forward (without and with kept states) and
     * backward, over keys of norm about 1, decays in (0.59, 0.98) and write strengths in [0, 1), as a layer feeds it.
     */
    private void ruleAgrees(StateUpdate update, int batch, int tokens, int heads, int keyDim, int valueDim,
                            Input packed) {
        int chunks = (tokens + RecurrentKernels.STATE_INTERVAL - 1) / RecurrentKernels.STATE_INTERVAL;
        String what = "gated rule " + update + (packed == null ? "" : ", packed") + ", B " + batch + ", T " + tokens + ", H " + heads + ", Dk " + keyDim + ", Dv "
                + valueDim;
        Input[] inputs = in(Input.randn(110, batch, tokens, heads, keyDim).scaled(0.3f),
                Input.randn(111, batch, tokens, heads, keyDim).scaled((float) (1 / Math.sqrt(keyDim))),
                Input.randn(112, batch, tokens, heads, valueDim),
                Input.positive(113, 0.05f, batch, tokens, heads).scaled(-0.5f),
                Input.positive(114, 0f, batch, tokens, heads),
                Input.randn(115, batch, heads, keyDim, valueDim).scaled(0.5f),
                Input.randn(116, batch, tokens, heads, valueDim),
                packed == null ? Input.randn(117, 1) : packed);
        agree(what + ", without kept states", F32_TOLERANCE, inputs, out(d(batch, tokens, heads, valueDim)),
                (be, x, o) -> {
                    be.copy().fill(o[0], Float.NaN);
                    be.recurrent().gatedRule(update, x[0], x[1], x[2], x[3], x[4], starts(x, packed), x[5], o[0], null);
                });
        agree(what, F32_TOLERANCE, inputs, out(d(batch, tokens, heads, valueDim),
                d(batch, heads, chunks, keyDim, valueDim), d(batch, tokens, heads, keyDim),
                d(batch, tokens, heads, keyDim), d(batch, tokens, heads, valueDim), d(batch, tokens, heads),
                d(batch, tokens, heads)), (be, x, o) -> {
                    be.copy().fill(List.of(o), Float.NaN);
                    Tensor starts = starts(x, packed);
                    be.recurrent().gatedRule(update, x[0], x[1], x[2], x[3], x[4], starts, x[5], o[0], o[1]);
                    be.recurrent().gatedRuleBackward(update, x[0], x[1], x[2], x[3], x[4], starts, o[1], x[6], o[2],
                            o[3], o[4], o[5], o[6]);
                });
    }

    /** The offsets among the inputs {@code x} (the last), when the case is packed. */
    private static Tensor starts(Tensor[] x, Input packed) {
        return packed == null ? null : x[x.length - 1];
    }

    @Test
    void embeddingGatherAndScatterAdd() {
        Input ids = Input.ints(DType.I64, d(6), 3, 0, 9, 3, 3, 7);
        agree("gather", 0, in(Input.randn(52, 10, 16), ids), out(d(6, 16)),
                (be, x, o) -> be.embedding().gather(x[0], x[1], o[0]));
        agree("gather from a bf16 table", 0, in(Input.randn(53, 10, 16).as(DType.BF16), ids), out(d(6, 16)),
                (be, x, o) -> be.embedding().gather(x[0], x[1], o[0]));
        agree("scatter-add", F32_TOLERANCE, in(Input.randn(54, 6, 16), ids, Input.randn(55, 10, 16)), out(),
                (be, x, o) -> be.embedding().scatterAdd(x[0], x[1], x[2]));
    }

    @Test
    void crossEntropyForwardAndBackwardWithIgnoredRows() {
        Input labels = Input.ints(DType.I32, d(4), 5, -100, 4999, 0);
        for (DType type : new DType[]{DType.F32, DType.BF16}) {
            agree("token log-probs " + type, type == DType.F32 ? F32_TOLERANCE : BF16_TOLERANCE,
                    in(Input.randn(56, 4, 5000).as(type), labels, Input.randn(57, 4)),
                    out(d(4), d(4), d(4), d(4, 5000)), (be, x, o) -> {
                        be.crossEntropy().tokenLogProbs(x[0], x[1], -100, o[0], o[1], o[2]);
                        be.crossEntropy().tokenLogProbsBackward(x[0], x[1], -100, o[1], o[2], x[2], o[3]);
                    });
        }
    }

    @Test
    void dropoutMasksEqualTheCpusAndPhilox() {
        var key = new dev.finetune4j.core.backend.DropoutKey(0x1234_5678_9abcL, 17, 3);
        agree("dropout", 0, in(Input.randn(58, 3, 1001)), out(d(3, 1001)),
                (be, x, o) -> be.dropout().apply(x[0], 0.3f, key, o[0]));
        float[] x = Input.randn(58, 3, 1001).values();
        float[] expected = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            expected[i] = dev.finetune4j.core.backend.Philox.uniform(key, i) < 0.3f ? 0f : x[i] * (1f / (1f - 0.3f));
        }
        try (var scope = dev.finetune4j.core.tensor.TensorScope.open()) {
            var in = Input.randn(58, 3, 1001).on(device(), scope);
            var o = dev.finetune4j.core.tensor.Tensor.zeros(scope, device(), DType.F32, Shape.of(3, 1001));
            device().backend().dropout().apply(in, 0.3f, key, o);
            GpuTensors.assertClose("dropout against Philox", expected, o.toFloatArray(), 0);
        }
    }

    @Test
    void adamwAndSgdSteps() {
        AdamWStep adam = new AdamWStep(0.999f, 0.1f, 0.999f, 0.001f, 1e-8f, -0.01f, 0.2f);
        agree("adamw", F32_TOLERANCE, in(Input.randn(59, 300), Input.randn(60, 300), Input.randn(61, 300),
                Input.positive(62, 0.01f, 300)), out(), (be, x, o) -> be.optimizer().adamw(x[0], x[1], x[2], x[3], adam));
        // three parameters of different sizes in one launch (a table of their addresses on the device)
        agree("adamw of three tensors at once", F32_TOLERANCE, in(Input.randn(66, 300), Input.randn(67, 300),
                Input.randn(68, 300), Input.positive(69, 0.01f, 300), Input.randn(70, 7), Input.randn(71, 7),
                Input.randn(72, 7), Input.positive(73, 0.01f, 7), Input.randn(74, 16, 33), Input.randn(75, 16, 33),
                Input.randn(76, 16, 33), Input.positive(77, 0.01f, 16, 33)), out(), (be, x, o) ->
                be.optimizer().adamw(List.of(x[0], x[4], x[8]), List.of(x[1], x[5], x[9]), List.of(x[2], x[6], x[10]),
                        List.of(x[3], x[7], x[11]), adam, null));
        for (SgdStep step : new SgdStep[]{new SgdStep(-0.1f, 0.01f, 0.9f, 1f, true, false),
                new SgdStep(-0.1f, 0f, 0.9f, 0.5f, false, true), new SgdStep(-0.1f, 0f, 0f, 1f, false, false)}) {
            agree("sgd " + step, F32_TOLERANCE, in(Input.randn(63, 200), Input.randn(64, 200), Input.randn(65, 200)),
                    out(), (be, x, o) -> be.optimizer().sgd(x[0], x[1], step.momentum() == 0 ? null : x[2], step));
        }
    }

    @Test
    void updateGates() {
        Input norms = Input.positive(80, 0.5f, 37);
        Input losses = Input.positive(81, 0.1f, 3);
        // the 37 norms make a global norm near 6: a max of 1 clips, a max of 100 and none (0) do not
        for (float maxNorm : new float[]{1f, 100f, 0f}) {
            agree("update gate, max norm " + maxNorm, F32_TOLERANCE, in(norms, losses), out(d(3)),
                    (be, x, o) -> be.optimizer().updateGate(x[0], x[1], maxNorm, o[0]));
        }
        Input infiniteLoss = new Input(new float[]{0.5f, Float.POSITIVE_INFINITY, 0.25f}, d(3), DType.F32);
        agree("update gate closed by an infinite loss", 0, in(norms, infiniteLoss), out(d(3)),
                (be, x, o) -> be.optimizer().updateGate(x[0], x[1], 1f, o[0]));
    }

    @Test
    void gatedUpdatesScaleTheGradientWhenOpenAndChangeNothingWhenClosed() {
        AdamWStep adam = new AdamWStep(0.999f, 0.1f, 0.999f, 0.001f, 1e-8f, -0.01f, 0.2f);
        for (float closed : new float[]{0f, 1f}) {
            Input gate = new Input(new float[]{5f, 0.37f, closed}, d(3), DType.F32);
            agree("gated adamw, closed " + closed, F32_TOLERANCE, in(Input.randn(82, 300), Input.randn(83, 300),
                    Input.randn(84, 300), Input.positive(85, 0.01f, 300), gate), out(),
                    (be, x, o) -> be.optimizer().adamw(x[0], x[1], x[2], x[3], adam, x[4]));
            agree("gated adamw of two tensors, closed " + closed, F32_TOLERANCE, in(Input.randn(86, 300),
                    Input.randn(87, 300), Input.randn(88, 300), Input.positive(89, 0.01f, 300), Input.randn(90, 7),
                    Input.randn(91, 7), Input.randn(92, 7), Input.positive(93, 0.01f, 7), gate), out(),
                    (be, x, o) -> be.optimizer().adamw(List.of(x[0], x[4]), List.of(x[1], x[5]),
                            List.of(x[2], x[6]), List.of(x[3], x[7]), adam, x[8]));
            agree("gated sgd, closed " + closed, F32_TOLERANCE, in(Input.randn(94, 200), Input.randn(95, 200),
                    Input.randn(96, 200), gate), out(), (be, x, o) -> be.optimizer().sgd(x[0], x[1], x[2],
                    new SgdStep(-0.1f, 0.01f, 0.9f, 1f, true, false), x[3]));
        }
    }
}
