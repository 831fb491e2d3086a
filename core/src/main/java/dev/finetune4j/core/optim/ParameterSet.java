package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Named float32 parameters with, per parameter, its update count and one state tensor per slot
 * ({@code exp_avg}, ...): contiguous F32 of the parameter's shape on the parameter's device, in a detached scope
 * this set owns and frees on {@link #close()}. Validates parameters once and each gradient when it is used.
 */
final class ParameterSet implements AutoCloseable {
    private final List<String> names;
    private final List<Tensor> params;
    private final long[] parameterSteps;
    private final long[] rememberedSteps;
    private final TensorScope stateScope = TensorScope.detached();
    private final Map<String, List<Tensor>> slots = new LinkedHashMap<>();

    ParameterSet(Map<String, Tensor> parameters, String... slotNames) {
        this.names = List.copyOf(parameters.keySet());
        this.params = List.copyOf(parameters.values());
        this.parameterSteps = new long[params.size()];
        this.rememberedSteps = new long[params.size()];
        Map<Tensor, String> seen = new IdentityHashMap<>();
        for (int k = 0; k < params.size(); k++) {
            Tensor p = params.get(k);
            String name = names.get(k);
            if (p.dtype() != DType.F32 || !p.isContiguous() || !p.requiresGrad() || p.gradFn() != null) {
                throw new IllegalArgumentException("parameter '" + name + "' must be a contiguous F32 leaf tensor with requiresGrad "
                        + "to be optimized, it is " + p + "; pass only the trainable parameters (convert bf16 weights to F32 first)");
            }
            if (p.numel() > Integer.MAX_VALUE - 8) {
                // NOTE: the state lives on the device, but OptimizerState exports it as one float[] per slot
                throw new IllegalArgumentException("parameter '" + name + "' has " + p.numel() + " elements; optimizer state holds at "
                        + "most 2^31 - 9 per parameter, so split it");
            }
            String twin = seen.put(p, name);
            if (twin != null) {
                throw new IllegalArgumentException("parameters '" + twin + "' and '" + name + "' are the same tensor (tied weights); "
                        + "pass it once, or it would be updated twice per step");
            }
        }
        try {
            for (String s : slotNames) {
                List<Tensor> tensors = new ArrayList<>();
                params.forEach(p -> tensors.add(Tensor.zeros(stateScope, p.device(), DType.F32, p.shape())));
                slots.put(s, tensors);
            }
        } catch (RuntimeException | Error e) {
            stateScope.close(); // a device out of memory: give back the slots allocated so far
            throw e;
        }
    }

    int size() {
        return params.size();
    }

    Tensor param(int k) {
        return params.get(k);
    }

    /**
     * The gradient of parameter {@code k}, checked to be a contiguous F32 tensor of its size on its device, or
     * null.
     */
    Tensor grad(int k) {
        Tensor p = params.get(k);
        Tensor g = p.grad();
        if (g != null && (g.dtype() != DType.F32 || !g.isContiguous() || g.numel() != p.numel())) {
            throw new IllegalStateException("the gradient of '" + names.get(k) + "' must be a contiguous F32 tensor of "
                    + p.numel() + " elements, it is " + g);
        }
        if (g != null && !g.device().equals(p.device())) {
            throw new IllegalStateException("the gradient of '" + names.get(k) + "' is on " + g.device() + " but the parameter "
                    + "is on " + p.device() + "; keep each gradient on its parameter's device");
        }
        return g;
    }

    /**
     * Every parameter's gradient ({@link #grad(int)}), null where there is none, all checked before the caller uses
     * one: a bad gradient refuses a step before it changes a parameter or a count.
     */
    Tensor[] grads() {
        Tensor[] grads = new Tensor[params.size()];
        for (int k = 0; k < grads.length; k++) {
            grads[k] = grad(k);
        }
        return grads;
    }

    /** Counts one more update of parameter {@code k} and returns its update number (1 for the first). */
    long advance(int k) {
        return ++parameterSteps[k];
    }

    /** Remembers every parameter's update count, for {@link #restoreCounts()}. */
    void rememberCounts() {
        System.arraycopy(parameterSteps, 0, rememberedSteps, 0, parameterSteps.length);
    }

    /** Takes back the counts {@link #rememberCounts()} saw: the update they were remembered for was skipped. */
    void restoreCounts() {
        System.arraycopy(rememberedSteps, 0, parameterSteps, 0, parameterSteps.length);
    }

    /** The state tensor {@code slot} of parameter {@code k}. */
    Tensor slot(String slot, int k) {
        return slots.get(slot).get(k);
    }

    /** Zeroes every gradient, the gradients of one device in one multi-tensor call. */
    void zeroGrad() {
        Map<Device, List<Tensor>> byDevice = new LinkedHashMap<>();
        for (int k = 0; k < params.size(); k++) {
            Tensor g = grad(k);
            if (g != null) {
                byDevice.computeIfAbsent(g.device(), d -> new ArrayList<>()).add(g);
            }
        }
        byDevice.forEach((device, grads) -> device.backend().copy().fill(grads, 0f));
    }

    /** The counts and a host copy of every slot. */
    OptimizerState export(long steps) {
        ensureOpen();
        Map<String, Long> perParam = new HashMap<>();
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            perParam.put(names.get(k), parameterSteps[k]);
            for (Map.Entry<String, List<Tensor>> s : slots.entrySet()) {
                out.put(names.get(k) + "." + s.getKey(), s.getValue().get(k).toFloatArray());
            }
        }
        return new OptimizerState(steps, perParam, out);
    }

    /**
     * Checks all of {@code state} against this set first (every count and slot present with its size, nothing for
     * parameters or slots this set does not hold), then copies it in (to the devices).
     */
    void restore(OptimizerState state) {
        ensureOpen();
        Set<String> held = new HashSet<>(names);
        for (String name : state.parameterSteps().keySet()) {
            if (!held.contains(name)) {
                throw mismatch("a step count for '" + name + "', which this optimizer does not hold");
            }
        }
        for (String key : state.slots().keySet()) {
            int dot = key.lastIndexOf('.');
            if (dot < 0 || !held.contains(key.substring(0, dot)) || !slots.containsKey(key.substring(dot + 1))) {
                throw mismatch("'" + key + "', which this optimizer does not hold");
            }
        }
        for (int k = 0; k < names.size(); k++) {
            Long count = state.parameterSteps().get(names.get(k));
            if (count == null) {
                throw mismatch("no step count for '" + names.get(k) + "'");
            }
            for (Map.Entry<String, List<Tensor>> s : slots.entrySet()) {
                String key = names.get(k) + "." + s.getKey();
                float[] src = state.slots().get(key);
                long expected = s.getValue().get(k).numel();
                if (src == null || src.length != expected) {
                    throw mismatch(src == null ? "no '" + key + "'" : "'" + key + "' with " + src.length + " values, expected " + expected);
                }
            }
        }
        for (int k = 0; k < names.size(); k++) {
            parameterSteps[k] = state.parameterSteps().get(names.get(k));
            for (Map.Entry<String, List<Tensor>> s : slots.entrySet()) {
                s.getValue().get(k).copyFrom(state.slots().get(names.get(k) + "." + s.getKey()));
            }
        }
    }

    /** Frees the state on the devices; idempotent. */
    @Override
    public void close() {
        stateScope.close();
    }

    /** @throws IllegalStateException after {@link #close()} */
    void ensureOpen() {
        if (!stateScope.isOpen()) {
            throw new IllegalStateException("the optimizer was closed and its state freed; create a new optimizer (and "
                    + "importState a saved state to continue a run)");
        }
    }

    private static IllegalArgumentException mismatch(String what) {
        return new IllegalArgumentException("the optimizer state has " + what + ": it was saved for other parameters or another "
                + "optimizer; restore it into the model and optimizer it was trained with");
    }
}
