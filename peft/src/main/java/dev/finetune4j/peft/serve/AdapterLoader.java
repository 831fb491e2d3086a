package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraBias;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraLinear;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Puts a read PEFT folder ({@link AdapterFiles}) into a {@link LoraAdapter} with peft's own loader ({@link Peft#load}:
 * target matching, shape checks against the base), copies the factors into a scope of their own and takes the
 * adapter out of the base model again.
 *
 * <p>Thread safety: mutates the base model's tree while it runs; the caller makes sure no forward pass overlaps
 * and that the tree carries no other wrapper.
 */
final class AdapterLoader {
    private AdapterLoader() {
    }

    /**
     * @throws PeftException for a folder that does not load onto this base, or a method other than LoRA and DoRA
     */
    static LoraAdapter load(LanguageModel base, String name, long version, AdapterFiles files) {
        Path dir = files.dir();
        PeftModel loaded = Peft.load(base, files);
        Map<String, Tensor> injected = loaded.adapterTensors();
        TensorScope scope = TensorScope.detached(base.parameterScope().device());
        try {
            requireServable(loaded, dir);
            Map<String, LoraAdapter.Factors> factors = new LinkedHashMap<>();
            for (Map.Entry<String, Module> e : base.namedModules().entrySet()) {
                if (e.getValue() instanceof LoraLinear l) {
                    // named like weights, so that a backend may keep them in its prepared layout between steps
                    Tensor a = l.loraA().copyTo(l.loraA().device(), scope).named(name + ":" + e.getKey() + ".lora_A");
                    Tensor b = l.loraB().copyTo(l.loraB().device(), scope).named(name + ":" + e.getKey() + ".lora_B");
                    factors.put(e.getKey(), new LoraAdapter.Factors(a, b, l.scaling(), doraScale(l, scope)));
                }
            }
            return new LoraAdapter(version, factors, scope);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        } finally {
            loaded.unload();
            // NOTE: the injected copies live in the base model's scope; free them, or every reload would leak them
            injected.values().forEach(t -> base.parameterScope().release(t));
        }
    }

    /** DoRA's scale with the loaded weights, fixed from now on (the base weights are frozen), or null for LoRA. */
    private static Tensor doraScale(LoraLinear l, TensorScope into) {
        try (var step = TensorScope.open(); var noGrad = Autograd.noGrad()) {
            Tensor scale = l.doraScale();
            return scale == null ? null : scale.copyTo(scale.device(), into);
        }
    }

    private static void requireServable(PeftModel loaded, Path dir) {
        if (!(loaded.config() instanceof LoraConfig c)) {
            throw new PeftException("adapter " + dir + " is " + loaded.config().peftType() + "; the inference engine serves "
                    + "LoRA adapters (rsLoRA and DoRA included): merge other methods into a model folder and serve that");
        }
        if (c.modulesToSave() != null && !c.modulesToSave().isEmpty() || c.bias() != LoraBias.NONE) {
            throw new PeftException("adapter " + dir + " also saves full modules or biases (modules_to_save "
                    + c.modulesToSave() + ", bias " + c.bias() + "), which would change the shared base model; the "
                    + "inference engine serves LoRA and DoRA without them: merge this adapter into a model folder and serve that");
        }
    }
}
