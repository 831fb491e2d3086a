package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraBias;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.ExpertsLora;
import dev.finetune4j.peft.lora.LoraLinear;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Puts a read PEFT folder ({@link AdapterFiles}) into a {@link LoraAdapter} in two phases. {@link #read} uses peft's own
 * loader ({@link Peft#load}: target matching, shape checks against the base), copies the factors of its
 * {@link LoraLinear}s and {@link ExpertsLora}s (stacked experts) into a scope of their own and takes the adapter out of
 * the base model again; {@link Unscaled#scaled} then computes DoRA's scales, which read every adapted base weight but
 * change nothing in the model, so the engine runs it while decoding goes on.
 *
 * <p>Thread safety: {@link #read} mutates the base model's tree; the caller makes sure no forward pass overlaps and
 * that the tree carries no other wrapper. {@link Unscaled#scaled} only reads the base weights (frozen).
 */
final class AdapterLoader {
    private AdapterLoader() {
    }

    /**
     * One module's copied factors, with what DoRA's scale needs: the magnitude and the base layer, or null for LoRA
     * (and for a stacked expert parameter's factors, in PEFT's layout, {@link ExpertsLora}).
     */
    private record Parts(Tensor a, Tensor b, float scaling, Tensor magnitude, BaseLinear base) {
    }

    /** A read adapter whose DoRA scales are not computed yet; it owns its scope until {@link #scaled} hands it on. */
    static final class Unscaled {
        private final long version;
        private final Map<String, Parts> parts;
        private final List<String> linears;
        private final Set<String> experts;
        private final TensorScope scope;
        private final List<String> warnings;

        private Unscaled(long version, Map<String, Parts> parts, List<String> linears, Set<String> experts,
                         TensorScope scope, List<String> warnings) {
            this.version = version;
            this.parts = parts;
            this.linears = linears;
            this.experts = experts;
            this.scope = scope;
            this.warnings = warnings;
        }

        /**
         * What peft's loader warned (and logged) about the base under this adapter: another architecture, or a base
         * quantized differently from the one it was trained on.
         */
        List<String> warnings() {
            return warnings;
        }

        /** The paths of the linear layers the adapter changes, each a {@link MultiLoraLinear}'s. */
        List<String> linearPaths() {
            return linears;
        }

        /** The paths of the stacked experts whose parameters the adapter changes, each a {@link MultiExpertsLora}'s. */
        Set<String> expertPaths() {
            return experts;
        }

        /** The adapter, with DoRA's scales m / ||W + s B A||_row fixed from now on (the base weights are frozen). */
        LoraAdapter scaled() {
            try (var step = TensorScope.open(); var noGrad = Autograd.noGrad()) {
                Map<String, LoraAdapter.Factors> factors = new LinkedHashMap<>();
                parts.forEach((path, p) -> {
                    Tensor scale = p.magnitude() == null ? null : LoraLinear.doraScale(p.magnitude(),
                            p.base().weightTensor(), p.a(), p.b(), p.scaling());
                    factors.put(path, new LoraAdapter.Factors(p.a(), p.b(), p.scaling(),
                            scale == null ? null : scale.copyTo(scale.device(), scope)));
                });
                return new LoraAdapter(version, factors, scope);
            } catch (RuntimeException e) {
                scope.close();
                throw e;
            }
        }
    }

    /**
     * @throws PeftException for a folder that does not load onto this base, or a method other than LoRA and DoRA
     */
    static Unscaled read(LanguageModel base, String name, long version, AdapterFiles files) {
        Path dir = files.dir();
        PeftModel loaded = Peft.load(base, files);
        Map<String, Tensor> injected = loaded.adapterTensors();
        TensorScope scope = TensorScope.detached(base.parameterScope().device());
        try {
            requireServable(loaded, dir);
            Map<String, Parts> parts = new LinkedHashMap<>();
            List<String> linears = new ArrayList<>();
            Set<String> experts = new LinkedHashSet<>();
            for (Map.Entry<String, Module> e : base.namedModules().entrySet()) {
                if (e.getValue() instanceof LoraLinear l) {
                    Tensor m = l.doraMagnitude();
                    parts.put(e.getKey(), new Parts(copy(l.loraA(), name, e.getKey() + ".lora_A", scope),
                            copy(l.loraB(), name, e.getKey() + ".lora_B", scope), l.scaling(),
                            m == null ? null : m.copyTo(m.device(), scope), l.base()));
                    linears.add(e.getKey());
                } else if (e.getValue() instanceof ExpertsLora l) {
                    // a layer's second adapted parameter wraps the first: both belong to the experts' own path
                    String path = e.getKey().replace(".base_layer", "");
                    String key = MultiExpertsLora.key(path, l.parameter());
                    parts.put(key, new Parts(copy(l.loraA(), name, key + ".lora_A", scope),
                            copy(l.loraB(), name, key + ".lora_B", scope), l.scaling(), null, null));
                    experts.add(path);
                }
            }
            return new Unscaled(version, parts, linears, experts, scope, loaded.loadWarnings());
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        } finally {
            loaded.unload();
            // NOTE: the injected copies live in the base model's scope; free them, or every reload would leak them
            injected.values().forEach(t -> base.parameterScope().release(t));
        }
    }

    /** The adapter's copy of one factor, named like a weight so that a backend may keep it in its prepared layout. */
    private static Tensor copy(Tensor factor, String adapter, String key, TensorScope scope) {
        return factor.copyTo(factor.device(), scope).named(adapter + ":" + key);
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
