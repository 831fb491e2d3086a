package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code adapter_config.json} records about the base model an adapter was made on, and the checks of a base
 * model against that record when the adapter is loaded: {@code base_model_name_or_path} (the folder it was loaded
 * from), PEFT's {@code auto_mapping} (the transformers class) and, for QLoRA, that the base was NF4-quantized
 * ({@value #QUANTIZATION}, a key PEFT ignores).
 *
 * <p>Thread safety: stateless.
 */
final class BaseModelRecord {
    /** Set to "nf4" when the adapter was trained on an NF4-quantized base (QLoRA). */
    static final String QUANTIZATION = "finetune4j_base_quantization";
    private static final String NF4 = "nf4";

    private BaseModelRecord() {
    }

    /** The fields to write for a base model of {@code modelType} loaded from {@code source}. */
    static Map<String, Object> facts(Module root, String modelType, boolean classifier, Optional<Path> source) {
        Map<String, Object> facts = new LinkedHashMap<>();
        source.ifPresent(p -> facts.put("base_model_name_or_path", p.toString()));
        String architecture = PeftFamilies.architecture(modelType, classifier);
        if (architecture != null) {
            // transformers' module names spell model types with underscores (xlm-roberta: models.xlm_roberta)
            String module = modelType.replace('-', '_');
            facts.put("auto_mapping", Map.of("base_model_class", architecture,
                    "parent_library", "transformers.models." + module + ".modeling_" + module));
        }
        if (quantized(root)) {
            facts.put(QUANTIZATION, NF4);
        }
        return facts;
    }

    /** The fields {@link #facts} writes, as {@code config} holds them (absent ones left out). */
    static Map<String, Object> recorded(JsonNode config) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String field : List.of("base_model_name_or_path", "auto_mapping", QUANTIZATION)) {
            JsonNode v = config.get(field);
            if (v != null && !v.isNull()) {
                out.put(field, v.deepCopy());
            }
        }
        return out;
    }

    /**
     * Warnings about loading the adapter of {@code config} (from {@code file}) onto this base: another
     * architecture than the one it was trained on, a full-precision base under a QLoRA adapter, or an NF4-quantized
     * base under an adapter that records none (either way the base computes other than in training). Shapes that
     * cannot fit are refused later, when the weights are copied.
     */
    static List<String> warnings(JsonNode config, Path file, Module root, String modelType, boolean classifier) {
        List<String> out = new ArrayList<>();
        String trainedOn = config.path("auto_mapping").path("base_model_class").asText("");
        String here = PeftFamilies.architecture(modelType, classifier);
        if (!trainedOn.isEmpty() && here != null && !trainedOn.equals(here)) {
            out.add(file + " was trained on a " + trainedOn + " base, this base is a " + here + ": the weights fit the "
                    + "shapes, but outputs are only meaningful on the model the adapter was trained for ("
                    + config.path("base_model_name_or_path").asText("not recorded") + ")");
        }
        boolean quantizedHere = quantized(root);
        if (trainedOnQuantizedBase(config) && !quantizedHere) {
            out.add(file + " was trained on an NF4-quantized base (QLoRA), this base is full precision: its logits "
                    + "differ from those seen in training by the quantization error; load it with "
                    + "QloraInjector.load(base, dir), which quantizes the base first, or serve it over a base quantized by "
                    + "QloraInjector.quantize (finetune4j serve --base-quantization nf4)");
        } else if (!trainedOnQuantizedBase(config) && quantizedHere) {
            out.add(file + " records no quantized base (" + QUANTIZATION + "): it was trained on a full-precision base "
                    + "(or saved by another tool), this base is NF4-quantized: its logits differ from those seen in "
                    + "training by the quantization error; load it onto a base that is not quantized (finetune4j serve "
                    + "--base-quantization none)");
        }
        return out;
    }

    /** Whether {@code config} records an NF4-quantized base (a QLoRA adapter). */
    static boolean trainedOnQuantizedBase(JsonNode config) {
        return NF4.equals(config.path(QUANTIZATION).asText(""));
    }

    /** Whether any linear layer of {@code root} has an NF4 weight: a QLoRA base ({@link Peft#quantizedBase}). */
    static boolean quantized(Module root) {
        return root.namedModules().values().stream().anyMatch(m -> m instanceof Linear l && l.weight().dtype() == DType.NF4);
    }
}
