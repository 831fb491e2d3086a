package dev.finetune4j.peft.qlora;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * QLoRA: the base model's linear layers become {@link Nf4Linear} (all of them except the output head, as
 * bitsandbytes' 4-bit loading leaves {@code lm_head}), then LoRA goes on top as usual. The saved adapter is a
 * plain LoRA adapter, as PEFT saves QLoRA adapters.
 *
 * <pre>{@code
 * PeftModel m = QloraInjector.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).targetModules("q_proj", "v_proj").build());
 * }</pre>
 *
 * <p>Each float32 weight (and bias) that was quantized is released from the base model's parameter scope right
 * away, so the model's native memory shrinks to the NF4 share; the peak while loading still holds the float32
 * checkpoint (quantizing while reading the file would avoid that).
 *
 * <p>Thread safety: stateless; mutates the given model.
 */
public final class QloraInjector {
    private QloraInjector() {
    }

    /**
     * Quantizes every linear layer of {@code base} except {@code lm_head}; returns the quantized layers by path.
     *
     * @param base the model to quantize in place
     * @return path to quantized layer, in module order
     */
    public static Map<String, Nf4Linear> quantize(LanguageModel base) {
        List<String> paths = new ArrayList<>();
        base.namedModules().forEach((path, m) -> {
            if (m instanceof Linear && !path.equals("lm_head")) {
                paths.add(path);
            }
        });
        Map<String, Nf4Linear> out = new java.util.LinkedHashMap<>();
        for (String path : paths) {
            Linear original = (Linear) base.namedModules().get(path);
            LayerTuner.Swap s = LayerTuner.swap(base, path, m -> new Nf4Linear((Linear) m, base.parameterScope()));
            out.put(path, (Nf4Linear) s.wrapper());
            release(base, original);
        }
        return out;
    }

    /** Frees the float32 tensors of a layer that now lives in NF4 (the swap keeps no reference to them). */
    private static void release(LanguageModel base, Linear original) {
        base.parameterScope().release(original.weight());
        if (original.hasBias()) {
            base.parameterScope().release(original.parameter("bias"));
        }
    }

    /**
     * Quantizes the base model to NF4 and injects a fresh adapter on top: QLoRA with a {@code LoraConfig}.
     *
     * @param base   the model to quantize and adapt
     * @param config the adapter's config (a {@code LoraConfig} for QLoRA)
     * @return the adapted model
     */
    public static PeftModel wrap(LanguageModel base, PeftConfig config) {
        quantize(base);
        return Peft.wrap(base, config);
    }

    /**
     * Quantizes the base model to NF4 and loads a saved (QLoRA) adapter on top, for inference: the logits are then
     * those the adapter was trained with. {@code Peft.load} on a full-precision base warns that they differ.
     *
     * @param base the full-precision model, quantized in place
     * @param adapterDir a folder written by {@code PeftModel.save}
     * @return the model with the adapter loaded, frozen
     */
    public static PeftModel load(LanguageModel base, Path adapterDir) {
        quantize(base);
        return Peft.load(base, adapterDir);
    }

    /**
     * As {@link #load}, with the adapter's parameters trainable (to continue QLoRA training).
     *
     * @param base the full-precision model, quantized in place
     * @param adapterDir a folder written by {@code PeftModel.save}
     * @return the model with the adapter loaded and trainable
     */
    public static PeftModel loadTrainable(LanguageModel base, Path adapterDir) {
        quantize(base);
        return Peft.loadTrainable(base, adapterDir);
    }

    /**
     * Bytes per quantized parameter over every NF4 layer of {@code model} (about 0.516).
     *
     * @param model a model with NF4 layers
     * @return the bytes of NF4 storage per quantized parameter
     */
    public static double bytesPerParameter(Module model) {
        long bytes = 0;
        long params = 0;
        for (Module m : model.namedModules().values()) {
            if (m instanceof Nf4Linear q) {
                bytes += q.quantizedWeight().bytes();
                params += q.quantizedWeight().size();
            }
        }
        return params == 0 ? 0 : (double) bytes / params;
    }
}
