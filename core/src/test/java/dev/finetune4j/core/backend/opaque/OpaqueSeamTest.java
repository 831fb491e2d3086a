package dev.finetune4j.core.backend.opaque;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ops on a device whose memory only its backend can reach give the CPU's results, forward and backward. */
class OpaqueSeamTest {
    private static final Device OPAQUE = OpaqueBackendProvider.device();

    @Test
    void opaqueMemoryIsUnreachableOutsideTheBackend() {
        try (var scope = TensorScope.open()) {
            Tensor t = Tensor.of(OPAQUE, scope, new float[]{1, 2, 3}, Shape.of(3));
            assertEquals(OPAQUE, t.device());
            IllegalStateException e = assertThrows(IllegalStateException.class, t::hostSegment);
            assertTrue(e.getMessage().contains("opaque:0"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> t.getFlat(0));
            assertArrayEquals(new float[]{1, 2, 3}, t.toFloatArray());
        }
    }

    @Test
    void operandsOnTwoDevicesAreRefused() {
        try (var scope = TensorScope.open()) {
            Tensor a = Tensor.of(OPAQUE, scope, new float[]{1, 2}, Shape.of(2));
            Tensor b = Tensor.of(new float[]{1, 2}, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Elementwise.add(a, b));
            assertTrue(e.getMessage().contains("different devices"), e.getMessage());
        }
    }

    @Test
    void elementwiseReductionsAndViews() {
        sameOnBothDevices(new int[][]{{2, 3, 4}, {3, 1}}, in -> Reductions.sum(Elementwise.mul(
                Elementwise.exp(Elementwise.div(in[0], Elementwise.addScalar(Elementwise.mul(in[1], in[1]), 1f))),
                in[0].transpose(0, 2).contiguous().transpose(0, 2))));
        sameOnBothDevices(new int[][]{{4, 6}}, in -> Reductions.mean(Elementwise.sqrt(Elementwise.addScalar(
                Elementwise.mul(Reductions.sum(in[0].slice(1, 1, 5), 1, true), in[0].slice(1, 1, 5)), 50f))));
    }

    @Test
    void linearMatmulAndLowRank() {
        sameOnBothDevices(new int[][]{{2, 5, 8}, {6, 8}, {6}, {3, 8}, {6, 3}}, in -> Reductions.sum(Elementwise.mul(
                LowRank.linear(in[0], in[1], in[2], in[3], in[4], 0.5f),
                Matmul.linear(in[0], in[1], null))));
        sameOnBothDevices(new int[][]{{3, 4, 5}, {3, 5, 2}, {5, 2}}, in -> Reductions.sum(Elementwise.add(
                Matmul.matmul(in[0], in[1]), Matmul.matmul(in[0], in[2]))));
    }

    /** The loss and every input gradient on the opaque device equal the CPU's, with no host copy inside. */
    private static void sameOnBothDevices(int[][] shapes, Function<Tensor[], Tensor> loss) {
        float[][] values = new float[shapes.length][];
        for (int i = 0; i < shapes.length; i++) {
            values[i] = GradCheck.randn(40 + i, Math.toIntExact(Shape.of(shapes[i]).numel()));
        }
        float[][] cpu = run(Device.cpu(), shapes, values, loss);
        OpaqueBackend backend = OpaqueBackendProvider.backend();
        long calls = backend.kernelCalls();
        float[][] opaque = run(OPAQUE, shapes, values, loss);
        assertTrue(backend.kernelCalls() > calls, "the ops ran on the opaque backend");
        for (int i = 0; i < cpu.length; i++) {
            assertArrayEquals(cpu[i], opaque[i], "output " + i + " (0: loss, then the gradients)");
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
                out[i + 1] = in[i].grad().toFloatArray();
            }
            return out;
        }
    }
}
