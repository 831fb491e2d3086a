package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Test helpers for running one kernel call on the CPU and on {@code cuda:0} with the same inputs and comparing
 * the outputs.
 */
final class GpuTensors {
    static final Device GPU = Device.cuda(0);
    static final double F32_TOLERANCE = 1e-5;
    static final double BF16_TOLERANCE = 1e-2;

    private GpuTensors() {
    }

    /** Skips the calling test, with the reason, when this machine has no usable CUDA device. */
    static void assumeGpu() {
        CudaTestDevices.require(GPU.toString());
    }

    /** An input of a kernel call: values, shape and the dtype it is stored in (F32, BF16, F16, I32 or I64). */
    record Input(float[] values, int[] dims, DType dtype) {
        static Input randn(long seed, int... dims) {
            return new Input(GradCheck.randn(seed, Math.toIntExact(Shape.of(dims).numel())), dims, DType.F32);
        }

        /** Random values in [lo, lo + 1). */
        static Input positive(long seed, float lo, int... dims) {
            float[] v = GradCheck.randn(seed, Math.toIntExact(Shape.of(dims).numel()));
            for (int i = 0; i < v.length; i++) {
                v[i] = lo + (float) (Math.abs(v[i]) % 1.0);
            }
            return new Input(v, dims, DType.F32);
        }

        static Input ints(DType dtype, int[] dims, float... values) {
            return new Input(values, dims, dtype);
        }

        Input as(DType type) {
            return new Input(values, dims, type);
        }

        /** These values times {@code factor}. */
        Input scaled(float factor) {
            float[] v = values.clone();
            for (int i = 0; i < v.length; i++) {
                v[i] *= factor;
            }
            return new Input(v, dims, dtype);
        }

        Tensor on(Device device, TensorScope scope) {
            Shape shape = Shape.of(dims);
            return switch (dtype) {
                case I64 -> {
                    long[] ids = new long[values.length];
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = (long) values[i];
                    }
                    yield Tensor.ofLongs(device, ids, shape);
                }
                case I32 -> {
                    int[] ints = new int[values.length];
                    for (int i = 0; i < ints.length; i++) {
                        ints[i] = (int) values[i];
                    }
                    yield Tensor.ofInts(device, ints, shape);
                }
                default -> {
                    Tensor f = Tensor.of(device, scope, values, shape);
                    yield dtype == DType.F32 ? f : f.convertTo(dtype, scope);
                }
            };
        }
    }

    /** One kernel call on {@code be} with inputs {@code in} writing outputs {@code out}. */
    interface KernelCall {
        void run(Backend be, Tensor[] in, Tensor[] out);
    }

    /**
     * Runs {@code call} on the CPU and on {@code device} with the same inputs (fresh zero outputs of {@code outDims},
     * F32), and asserts that every output, and every F32 input (in-place kernels), agrees within {@code tolerance}
     * relative to the largest CPU value.
     */
    static void agree(Device device, String what, double tolerance, Input[] inputs, int[][] outDims,
                      KernelCall call) {
        float[][] cpu = run(Device.cpu(), inputs, outDims, call);
        float[][] gpu = run(device, inputs, outDims, call);
        for (int i = 0; i < cpu.length; i++) {
            assertClose(what + ", tensor " + i + " (inputs first, then outputs)", cpu[i], gpu[i], tolerance);
        }
    }

    /**
     * Runs {@code call} on {@code device} with fresh tensors of {@code inputs} and zero F32 outputs of
     * {@code outDims}; returns the F32 inputs' values (empty for other dtypes), then the outputs' values.
     */
    static float[][] run(Device device, Input[] inputs, int[][] outDims, KernelCall call) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor[] in = new Tensor[inputs.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = inputs[i].on(device, scope);
            }
            Tensor[] out = new Tensor[outDims.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = Tensor.zeros(scope, device, DType.F32, Shape.of(outDims[i]));
            }
            call.run(device.backend(), in, out);
            float[][] values = new float[in.length + out.length][];
            for (int i = 0; i < in.length; i++) {
                values[i] = in[i].dtype() == DType.F32 ? in[i].toFloatArray() : new float[0];
            }
            for (int i = 0; i < out.length; i++) {
                values[in.length + i] = out[i].toFloatArray();
            }
            return values;
        }
    }

    /**
     * max |actual - expected| / max(max finite |expected|, 1e-6) at most {@code tolerance} (0: equal), naming the
     * worst element. Infinite expected values (a log-sum-exp of no key) must be matched exactly and do not widen
     * the scale of the others.
     */
    static void assertClose(String what, float[] expected, float[] actual, double tolerance) {
        assertTrue(expected.length == actual.length, what + ": " + actual.length + " values, expected " + expected.length);
        double scale = 1e-6;
        for (float e : expected) {
            if (Float.isFinite(e)) {
                scale = Math.max(scale, Math.abs(e));
            }
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            boolean bothSame = Float.compare(expected[i], actual[i]) == 0;
            double d = bothSame ? 0 : Math.abs(actual[i] - expected[i]);
            if (Double.isNaN(d) || d > worst) {
                worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                at = i;
            }
        }
        double rel = worst / scale;
        int worstAt = at;
        assertTrue(rel <= tolerance, () -> what + ": relative error " + rel + " at " + worstAt + " (cpu "
                + expected[worstAt] + ", gpu " + actual[worstAt] + ")");
    }
}
