package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Puts a checkpoint's weights in place of a model's placeholder parameters (built on {@link Device#meta()}), each
 * going from the file into its final storage once:
 * <ul>
 *   <li>BF16 and F16 weights that stay in their dtype on the CPU are the memory-mapped file itself: no copy, no
 *       anonymous memory, read-only (a frozen base for adapters);</li>
 *   <li>everything else (F32 checkpoints, a dtype conversion, another device) is copied into the scope of the
 *       loaded weights, converted on the way, and can be trained or merged into.</li>
 * </ul>
 */
final class WeightLoader {
    private WeightLoader() {
    }

    /**
     * Loads every parameter of {@code model} from {@code ckpt} into {@code into}.
     *
     * @param dtype   the dtype to store weights in, or null for each weight's dtype in the checkpoint
     * @param aliases alternative names to try for a parameter; may return null
     * @return whether some weight is a view of the mapped checkpoint (which must then stay open with the model)
     * @throws IllegalArgumentException listing every missing or mis-shaped weight
     */
    static boolean load(Module model, SafetensorsCheckpoint ckpt, Function<String, String> aliases, TensorScope into,
                        DType dtype) {
        List<String> problems = new ArrayList<>();
        boolean mapped = false;
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            String name = e.getKey();
            Tensor placeholder = e.getValue();
            String key = ckpt.contains(name) ? name : aliases.apply(name);
            if (key == null || !ckpt.contains(key)) {
                problems.add("missing weight '" + name + "'");
                continue;
            }
            Tensor src = ckpt.tensor(key);
            if (!src.shape().equals(placeholder.shape())) {
                problems.add("weight '" + name + "' has shape " + src.shape() + ", the config implies " + placeholder.shape());
                continue;
            }
            if (!src.dtype().isFloatingPoint()) {
                problems.add("weight '" + name + "' is " + src.dtype() + ", not a floating-point type");
                continue;
            }
            DType target = dtype != null ? dtype : src.dtype();
            boolean zeroCopy = target == src.dtype() && target != DType.F32 && into.device().isCpu();
            Tensor weight = zeroCopy ? src : copy(src, target, into);
            mapped |= zeroCopy;
            replace(model, name, weight.requiresGrad(placeholder.requiresGrad() && target == DType.F32));
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("the checkpoint does not fit the model's config: " + String.join("; ", problems));
        }
        return mapped;
    }

    /** {@code src} (host memory) converted to {@code dtype} in a tensor of {@code into} on its device. */
    private static Tensor copy(Tensor src, DType dtype, TensorScope into) {
        if (into.device().isCpu()) {
            return src.convertTo(dtype, into);
        }
        try (TensorScope staging = TensorScope.detached()) {
            return src.convertTo(dtype, staging).copyTo(into.device(), into);
        }
    }

    /** Sets the parameter at the dotted path {@code name} ("model.layers.0.mlp.up_proj.weight"). */
    private static void replace(Module root, String name, Tensor value) {
        Module owner = root;
        String[] parts = name.split("\\.");
        for (int i = 0; i < parts.length - 1; i++) {
            owner = owner.child(parts[i]);
        }
        owner.setParameter(parts[parts.length - 1], value);
    }
}
