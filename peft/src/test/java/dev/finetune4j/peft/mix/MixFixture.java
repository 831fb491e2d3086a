package dev.finetune4j.peft.mix;

import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * hf-tiny/llama/mix, written by tools/reference/adapter_mix_torch.py: adapters b and c beside hf-tiny/llama/lora
 * (a), and combined.safetensors with torch's results.
 */
final class MixFixture {
    static final String A = "llama/lora";
    static final String B = "llama/mix/adapter_b";
    static final String C = "llama/mix/adapter_c";

    private MixFixture() {
    }

    /** Every tensor of combined.safetensors as a matrix (1-D tensors as one row). */
    static Map<String, Matrix> golden() {
        Map<String, Matrix> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.dir("llama/mix/combined.safetensors"))) {
            for (String name : f.names()) {
                Tensor t = f.tensor(name);
                float[] stored = t.toFloatArray();
                double[] values = new double[stored.length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = stored[i];
                }
                out.put(name, t.rank() == 1 ? new Matrix(1, t.dim(0), values) : new Matrix(t.dim(0), t.dim(1), values));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
