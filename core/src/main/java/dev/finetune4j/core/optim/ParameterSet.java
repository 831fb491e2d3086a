package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Named trainable parameters with one float array of optimizer state per slot and parameter. */
final class ParameterSet {
    final List<String> names;
    final List<Tensor> params;
    private final Map<String, List<float[]>> slots = new LinkedHashMap<>();

    ParameterSet(Map<String, Tensor> parameters, String... slotNames) {
        this.names = List.copyOf(parameters.keySet());
        this.params = List.copyOf(parameters.values());
        for (Tensor p : params) {
            if (!p.isContiguous() || p.dtype() != dev.finetune4j.core.tensor.DType.F32) {
                throw new IllegalArgumentException("parameter '" + p.name() + "' must be a contiguous F32 tensor to be optimized, it is " + p);
            }
        }
        for (String s : slotNames) {
            List<float[]> arrays = new ArrayList<>();
            for (Tensor p : params) {
                arrays.add(new float[Math.toIntExact(p.numel())]);
            }
            slots.put(s, arrays);
        }
    }

    float[] slot(String slot, int k) {
        return slots.get(slot).get(k);
    }

    static void write(Tensor t, float[] values) {
        MemorySegment.copy(values, 0, t.storage(), ValueLayout.JAVA_FLOAT_UNALIGNED, t.offset() * Float.BYTES, values.length);
    }

    void zeroGrad() {
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g != null) {
                g.storage().asSlice(g.offset() * Float.BYTES, g.numel() * Float.BYTES).fill((byte) 0);
            }
        }
    }

    Map<String, float[]> export() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            for (Map.Entry<String, List<float[]>> s : slots.entrySet()) {
                out.put(names.get(k) + "." + s.getKey(), s.getValue().get(k));
            }
        }
        return out;
    }

    void restore(Map<String, float[]> state) {
        for (int k = 0; k < names.size(); k++) {
            for (Map.Entry<String, List<float[]>> s : slots.entrySet()) {
                String key = names.get(k) + "." + s.getKey();
                float[] src = state.get(key);
                float[] into = s.getValue().get(k);
                if (src == null || src.length != into.length) {
                    throw new IllegalArgumentException("the optimizer state has " + (src == null ? "no '" + key + "'"
                            : "'" + key + "' with " + src.length + " values, expected " + into.length)
                            + ": it was saved for other parameters; restore it into the model it was trained with");
                }
                System.arraycopy(src, 0, into, 0, into.length);
            }
        }
    }
}
