package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named float32 parameters with, per parameter, its update count and one float array per state slot
 * ({@code exp_avg}, ...). Validates parameters once and each gradient when it is used.
 */
final class ParameterSet {
    private final List<String> names;
    private final List<Tensor> params;
    private final long[] parameterSteps;
    private final Map<String, List<float[]>> slots = new LinkedHashMap<>();

    ParameterSet(Map<String, Tensor> parameters, String... slotNames) {
        this.names = List.copyOf(parameters.keySet());
        this.params = List.copyOf(parameters.values());
        this.parameterSteps = new long[params.size()];
        Map<Tensor, String> seen = new IdentityHashMap<>();
        for (int k = 0; k < params.size(); k++) {
            Tensor p = params.get(k);
            String name = names.get(k);
            if (p.dtype() != DType.F32 || !p.isContiguous() || !p.requiresGrad() || p.gradFn() != null) {
                throw new IllegalArgumentException("parameter '" + name + "' must be a contiguous F32 leaf tensor with requiresGrad "
                        + "to be optimized, it is " + p + "; pass only the trainable parameters (convert bf16 weights to F32 first)");
            }
            if (p.numel() > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("parameter '" + name + "' has " + p.numel() + " elements; optimizer state holds at "
                        + "most 2^31 - 9 per parameter, so split it");
            }
            String twin = seen.put(p, name);
            if (twin != null) {
                throw new IllegalArgumentException("parameters '" + twin + "' and '" + name + "' are the same tensor (tied weights); "
                        + "pass it once, or it would be updated twice per step");
            }
        }
        for (String s : slotNames) {
            List<float[]> arrays = new ArrayList<>();
            params.forEach(p -> arrays.add(new float[(int) p.numel()]));
            slots.put(s, arrays);
        }
    }

    int size() {
        return params.size();
    }

    Tensor param(int k) {
        return params.get(k);
    }

    /** The gradient of parameter {@code k}, checked to be a contiguous F32 tensor of its size, or null. */
    Tensor grad(int k) {
        Tensor g = params.get(k).grad();
        if (g != null && (g.dtype() != DType.F32 || !g.isContiguous() || g.numel() != params.get(k).numel())) {
            throw new IllegalStateException("the gradient of '" + names.get(k) + "' must be a contiguous F32 tensor of "
                    + params.get(k).numel() + " elements, it is " + g);
        }
        return g;
    }

    /** Counts one more update of parameter {@code k} and returns its update number (1 for the first). */
    long advance(int k) {
        return ++parameterSteps[k];
    }

    float[] slot(String slot, int k) {
        return slots.get(slot).get(k);
    }

    /** The float32 elements of contiguous {@code t}, starting at its offset. */
    static MemorySegment elements(Tensor t) {
        return t.hostSegment().asSlice(t.offset() * Float.BYTES, t.numel() * Float.BYTES);
    }

    void zeroGrad() {
        for (int k = 0; k < params.size(); k++) {
            Tensor g = grad(k);
            if (g != null) {
                elements(g).fill((byte) 0);
            }
        }
    }

    OptimizerState export(long steps) {
        Map<String, Long> perParam = new HashMap<>();
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            perParam.put(names.get(k), parameterSteps[k]);
            for (Map.Entry<String, List<float[]>> s : slots.entrySet()) {
                out.put(names.get(k) + "." + s.getKey(), s.getValue().get(k));
            }
        }
        return new OptimizerState(steps, perParam, out);
    }

    void restore(OptimizerState state) {
        for (int k = 0; k < names.size(); k++) {
            Long count = state.parameterSteps().get(names.get(k));
            if (count == null) {
                throw mismatch("no step count for '" + names.get(k) + "'");
            }
            for (Map.Entry<String, List<float[]>> s : slots.entrySet()) {
                String key = names.get(k) + "." + s.getKey();
                float[] src = state.slots().get(key);
                float[] into = s.getValue().get(k);
                if (src == null || src.length != into.length) {
                    throw mismatch(src == null ? "no '" + key + "'" : "'" + key + "' with " + src.length + " values, expected " + into.length);
                }
            }
        }
        for (int k = 0; k < names.size(); k++) {
            parameterSteps[k] = state.parameterSteps().get(names.get(k));
            for (Map.Entry<String, List<float[]>> s : slots.entrySet()) {
                float[] src = state.slots().get(names.get(k) + "." + s.getKey());
                System.arraycopy(src, 0, s.getValue().get(k), 0, src.length);
            }
        }
    }

    private static IllegalArgumentException mismatch(String what) {
        return new IllegalArgumentException("the optimizer state has " + what + ": it was saved for other parameters or another "
                + "optimizer; restore it into the model and optimizer it was trained with");
    }
}
