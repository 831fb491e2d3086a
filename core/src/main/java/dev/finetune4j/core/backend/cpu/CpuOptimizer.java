package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Parameter updates on the CPU, operation for operation in float32 as torch's single-tensor CPU path. Parameters
 * and optimizer state are long-lived native memory, so the loops work on the segments in place (a bulk copy in
 * and out would double the memory traffic of the update). A gate is read on the host, as it lives here.
 */
final class CpuOptimizer implements OptimizerKernels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public void updateGate(Tensor norms, Tensor losses, float maxNorm, Tensor gate) {
        double sumSq = 0;
        for (float norm : CpuTensors.read(norms)) {
            sumSq += (double) norm * norm;
        }
        float norm = (float) Math.sqrt(sumSq);
        boolean open = Float.isFinite(norm);
        for (float loss : CpuTensors.read(losses)) {
            open &= Float.isFinite(loss);
        }
        float coefficient = !open ? 0f : maxNorm > 0 ? Math.min(1f, (1f / (norm + 1e-6f)) * maxNorm) : 1f;
        OptimizerKernels.requireGate(gate);
        float[] out = CpuTensors.output(gate);
        out[0] = norm;
        out[1] = coefficient;
        out[2] = open ? 0f : 1f;
        CpuTensors.commit(gate, out);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, Tensor gate) {
        float[] read = readGate(gate);
        if (read[2] != 0f) {
            return; // closed: the step is skipped
        }
        float scale = read[1];
        long n = param.numel();
        MemorySegment p = elements(param, n);
        MemorySegment g = elements(grad, n);
        MemorySegment ms = elements(m, n);
        MemorySegment vs = elements(v, n);
        float decay = step.decay();
        float weight = step.gradWeight();
        float beta2 = step.beta2();
        float oneMinusBeta2 = step.oneMinusBeta2();
        float eps = step.eps();
        float negStepSize = step.negStepSize();
        float bc2Sqrt = step.biasCorrection2Sqrt();
        for (long i = 0; i < n; i++) {
            float gi = g.getAtIndex(F, i) * scale;
            float w = p.getAtIndex(F, i) * decay;
            float mi = lerp(ms.getAtIndex(F, i), gi, weight);
            float vi = vs.getAtIndex(F, i) * beta2 + oneMinusBeta2 * gi * gi;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            ms.setAtIndex(F, i, mi);
            vs.setAtIndex(F, i, vi);
            p.setAtIndex(F, i, w + negStepSize * mi / denom);
        }
        written(param, m, v);
    }

    /** torch's lerp kernel: exact at both ends, the branch chosen by the weight. */
    private static float lerp(float self, float end, float weight) {
        return Math.abs(weight) < 0.5f ? self + weight * (end - self) : end - (end - self) * (1 - weight);
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step, Tensor gate) {
        float[] read = readGate(gate);
        if (read[2] != 0f) {
            return; // closed: the step is skipped
        }
        float scale = read[1];
        long n = param.numel();
        MemorySegment p = elements(param, n);
        MemorySegment g = elements(grad, n);
        MemorySegment buf = momentumBuffer == null ? null : elements(momentumBuffer, n);
        float wd = step.weightDecay();
        float momentum = step.momentum();
        float keep = step.keep();
        float negLr = step.negLr();
        for (long i = 0; i < n; i++) {
            float w = p.getAtIndex(F, i);
            float d = g.getAtIndex(F, i) * scale;
            if (wd != 0f) {
                d = d + wd * w;
            }
            if (buf != null) {
                float b = step.first() ? d : buf.getAtIndex(F, i) * momentum + keep * d;
                buf.setAtIndex(F, i, b);
                d = step.nesterov() ? d + momentum * b : b;
            }
            p.setAtIndex(F, i, w + negLr * d);
        }
        written(param, momentumBuffer);
    }

    /**
     * The gate's values; without a gate, an open one that scales by 1 (multiplying by 1 changes no float, so an
     * unclipped step is exactly the ungated one).
     */
    private static float[] readGate(Tensor gate) {
        if (gate == null) {
            return new float[]{Float.NaN, 1f, 0f};
        }
        OptimizerKernels.requireGate(gate);
        return CpuTensors.read(gate);
    }

    /** Counts the writes into the given tensors (null ones skipped). */
    private static void written(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t != null) {
                CpuTensors.written(t);
            }
        }
    }

    /** The {@code n} float32 elements of the contiguous F32 CPU tensor {@code t}, from its offset. */
    private static MemorySegment elements(Tensor t, long n) {
        if (t.dtype() != DType.F32 || !t.isContiguous() || t.numel() != n) {
            throw new IllegalArgumentException("optimizer kernels take contiguous F32 tensors of the parameter's " + n
                    + " elements, got " + t);
        }
        return CpuTensors.segment(t).asSlice(t.offset() * Float.BYTES, n * Float.BYTES);
    }
}
