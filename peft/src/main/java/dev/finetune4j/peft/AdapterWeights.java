package dev.finetune4j.peft;

import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code adapter_model.safetensors} through core's safetensors reader and writer, with PEFT's conventions
 * (float32 tensors, {@code {"format": "pt"}} metadata) and errors that say what an adapter folder should hold.
 *
 * <p>Thread safety: stateless; safe from any thread.
 */
final class AdapterWeights {
    private AdapterWeights() {
    }

    /**
     * Every tensor of {@code file}, copied into {@code scope} as float32 (PEFT adapters are small).
     *
     * @throws PeftException when the file is missing, truncated, its header is malformed or claims an impossible shape
     */
    static Map<String, Tensor> read(Path file, TensorScope scope) {
        if (!Files.isRegularFile(file)) {
            throw new PeftException("missing adapter weights " + file + ": an adapter folder holds adapter_config.json "
                    + "and adapter_model.safetensors (PyTorch .bin adapters are refused: re-save with safe_serialization=True)");
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : f.names()) {
                Tensor t = f.tensor(name);
                out.put(name, t.dtype().isFloatingPoint() ? t.convertTo(DType.F32, scope) : t.convertTo(t.dtype(), scope));
            }
            return out;
        } catch (IOException e) {
            throw new PeftException("cannot read adapter weights " + file + ": " + e.getMessage()
                    + "; the file is truncated or corrupt: save or download the adapter again", e);
        } catch (IllegalArgumentException e) {
            // a tensor whose header shape no tensor can hold; the message names the file and the tensor
            throw new PeftException(e.getMessage() + " (adapter tensors are small: the file is corrupt; save or "
                    + "download the adapter again)", e);
        }
    }

    /** Writes the tensors as float32 with PEFT's {"format": "pt"} metadata (the writer renames atomically). */
    static void write(Path file, Map<String, Tensor> tensors) {
        Map<String, Tensor> f32 = new LinkedHashMap<>();
        tensors.forEach((n, t) -> f32.put(n, t.convertTo(DType.F32, TensorScope.current())));
        try {
            SafetensorsWriter.write(file, f32, Map.of("format", "pt"));
        } catch (IOException e) {
            throw new PeftException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Copies {@code src} (any float dtype) into the float32 tensor {@code dst} of the same shape. */
    static void copyInto(Tensor src, Tensor dst) {
        dst.copyFrom(src.toFloatArray());
    }
}
