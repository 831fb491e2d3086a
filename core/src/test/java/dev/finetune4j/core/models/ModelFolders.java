package dev.finetune4j.core.models;

import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/** Model folders made from another by rewriting its weights: another dtype, other names, tensors left out or added. */
final class ModelFolders {
    private ModelFolders() {
    }

    /** A copy of model folder {@code from} with every weight converted to {@code dtype}. */
    static Path converted(Path from, Path to, DType dtype) throws Exception {
        return rewritten(from, to, dtype, UnaryOperator.identity(), Map.of());
    }

    /**
     * A copy of model folder {@code from} (its config.json as it is) whose float32 weights are renamed by
     * {@code rename} (null leaves one out), with zero tensors of the shapes {@code extra} names added.
     */
    static Path renamed(Path from, Path to, UnaryOperator<String> rename, Map<String, Shape> extra) throws Exception {
        return rewritten(from, to, DType.F32, rename, extra);
    }

    private static Path rewritten(Path from, Path to, DType dtype, UnaryOperator<String> rename,
                                  Map<String, Shape> extra) throws Exception {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(from); var scope = TensorScope.detached()) {
            Map<String, Tensor> kept = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                String renamed = rename.apply(name);
                if (renamed != null) {
                    kept.put(renamed, ckpt.tensor(name).convertTo(dtype, scope));
                }
            }
            extra.forEach((name, shape) -> kept.put(name, Tensor.zeros(scope, dtype, shape)));
            SafetensorsWriter.write(to.resolve("model.safetensors"), kept, Map.of("format", "pt"));
        }
        return to;
    }
}
