package dev.finetune4j.peft.freeze;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Tuner;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Full fine-tuning of chosen base parameters. The "adapter" is those parameters themselves; a copy of their
 * original values lets {@link #setEnabled(boolean) disabling} give the untouched base model (DPO's reference).
 * Merging is a no-op: the trained values already are the base weights.
 *
 * <p>Thread safety: not thread-safe.
 */
public final class FrozenLayers implements Tuner {
    private final Map<String, Tensor> chosen;
    private final Map<String, float[]> originals = new LinkedHashMap<>();
    private boolean enabled = true;
    private boolean merged;

    FrozenLayers(Map<String, Tensor> chosen) {
        this.chosen = Collections.unmodifiableMap(new LinkedHashMap<>(chosen));
        chosen.forEach((n, t) -> originals.put(n, t.toFloatArray()));
    }

    @Override
    public Map<String, Tensor> adapterTensors() {
        return chosen;
    }

    /** Swaps trained and original values, so that the same tensors hold whichever is active. */
    @Override
    public void setEnabled(boolean on) {
        if (on == enabled) {
            return;
        }
        chosen.forEach((n, t) -> {
            float[] other = originals.get(n);
            originals.put(n, t.toFloatArray());
            for (int i = 0; i < other.length; i++) {
                t.setFlat(i, other[i]);
            }
        });
        enabled = on;
    }

    @Override
    public void merge() {
        merged = true;
    }

    @Override
    public void unmerge() {
        merged = false;
    }

    @Override
    public boolean isMerged() {
        return merged;
    }

    @Override
    public void unload() {
        chosen.values().forEach(t -> t.requiresGrad(false));
    }
}
