package dev.finetune4j.peft.mix;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.lora.LoraConfig;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The LoRA adapter {@link AdapterMix} made: a config with {@code lora_alpha == r} (scaling 1, every source
 * adapter's scaling is inside the factors) and the factors of every module any source adapter adapted.
 *
 * @param config         the combined adapter's config: rank, alpha = rank, the union of the target modules, the
 *                       other settings of the first adapter; no rsLoRA, rank or alpha patterns
 * @param factors        the tensors by PEFT's saved names ({@code <module>.lora_A.weight}: (r, in),
 *                       {@code <module>.lora_B.weight}: (out, r)), sorted
 * @param baseModelFacts the first adapter's record of its base model, written with the config
 */
public record MixedAdapter(LoraConfig config, SortedMap<String, Matrix> factors, Map<String, Object> baseModelFacts) {
    /** Copies the maps. */
    public MixedAdapter {
        factors = Collections.unmodifiableSortedMap(new TreeMap<>(factors));
        baseModelFacts = Map.copyOf(baseModelFacts);
    }

    /**
     * Writes the adapter in PEFT's format (adapter_config.json, adapter_model.safetensors in float32): it loads with
     * {@link dev.finetune4j.peft.Peft#load} and with Python PEFT's {@code PeftModel.from_pretrained}.
     *
     * @param dir the adapter folder; replaced as a whole when it exists
     * @throws dev.finetune4j.peft.PeftException when it cannot be written
     */
    public void save(Path dir) {
        try (TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            factors.forEach((name, m) -> {
                float[] values = new float[m.values().length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) m.values()[i];
                }
                tensors.put(name, Tensor.of(scope, values, m.rows(), m.cols()));
            });
            AdapterFiles.write(dir, config, tensors, baseModelFacts);
        }
    }
}
