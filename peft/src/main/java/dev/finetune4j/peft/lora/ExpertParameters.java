package dev.finetune4j.peft.lora;

import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.StackedExperts;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * LoRA's {@code target_parameters}: an {@link ExpertsLora} around each stacked expert parameter the config names,
 * matched as PEFT matches them (the parameter's full name, or its ending after a dot, each parameter once however many
 * entries match it), wrapped in the model's parameter order as PEFT nests them: a layer's {@code gate_up_proj} inside,
 * its {@code down_proj} around it, whichever the config lists first.
 */
final class ExpertParameters {
    private static final String WRAPPED = ".base_layer";

    /**
     * One stacked parameter to wrap.
     *
     * @param path the experts module's path, adapters left out
     * @param name the parameter's name in it
     */
    record Target(String path, String name) {
        String key() {
            return path + "." + name;
        }
    }

    private ExpertParameters() {
    }

    /**
     * The parameters {@code cfg.targetParameters()} names, in the order to wrap them, checked before anything is
     * swapped: each entry matches some parameter, every match is a stacked expert matrix, and the rank fits.
     *
     * @param root the model
     * @param cfg the config
     * @return the targets, empty without {@code target_parameters}
     * @throws PeftException for an entry that matches nothing or something else, or a rank above the matrices'
     */
    static List<Target> select(Module root, LoraConfig cfg) {
        List<Target> targets = new ArrayList<>();
        if (cfg.targetParameters() == null) {
            return targets;
        }
        Map<String, Module> modules = root.namedModules();
        Set<String> unmatched = new LinkedHashSet<>(cfg.targetParameters());
        // NOTE: PEFT wraps the matches in the model's parameter order, not the config's: the experts' gate_up_proj,
        // registered before down_proj, is always the inner wrapper (mlp.experts.base_layer.lora_A), as here
        for (String name : root.stateDict().keySet()) {
            String key = name.replace(WRAPPED, "");
            List<String> entries = cfg.targetParameters().stream()
                    .filter(e -> key.equals(e) || key.endsWith("." + e)).toList();
            if (entries.isEmpty() || key.contains(".lora_")) {
                continue;
            }
            unmatched.removeAll(entries);
            String entry = entries.getFirst();
            Target t = new Target(key.substring(0, key.lastIndexOf('.')), key.substring(key.lastIndexOf('.') + 1));
            if (!(modules.get(t.path()) instanceof StackedExperts experts) || !experts.experts().isMatrix(t.name())) {
                throw new PeftException("target_parameters entry '" + entry + "' matches '" + key + "', which is not "
                        + "a stacked expert matrix: LoRA adapts the experts." + FusedExperts.GATE_UP + " and experts."
                        + FusedExperts.DOWN + " of gpt-oss, Mistral 4, Gemma 4 and Qwen3-VL-MoE this way; name "
                        + "linear layers in target_modules");
            }
            Tensor w = experts.experts().parameter(t.name());
            int limit = Math.max(w.dim(1), w.dim(2));
            if (cfg.rankFor(key) > limit) {
                throw new PeftException("r = " + cfg.rankFor(key) + " for '" + key + "' exceeds its experts' larger "
                        + "dimension " + limit + "; a LoRA rank is at most that, typically 8 to 64");
            }
            targets.add(t);
        }
        if (!unmatched.isEmpty()) {
            throw new PeftException("target_parameters entry '" + unmatched.iterator().next() + "' matches no parameter "
                    + "of the model; stacked experts (gpt-oss, Mistral 4, Qwen3-VL-MoE) are e.g. 'mlp.experts."
                    + FusedExperts.GATE_UP + "' (every layer) or '7.mlp.experts." + FusedExperts.DOWN + "' (layer 7's), "
                    + "Gemma 4's 'experts." + FusedExperts.GATE_UP + "'");
        }
        return targets;
    }

    /**
     * Wraps each target, in order, with a fresh adapter initialised as {@code cfg} says.
     *
     * @param ctx the model being wrapped
     * @param cfg the config, whose ranks, alphas and initialisation apply
     * @param targets what {@link #select} returned
     * @param init the initialisation's draws
     * @return the swaps, in the order made
     */
    static List<LayerTuner.Swap> wrap(PeftContext ctx, LoraConfig cfg, List<Target> targets, SplittableRandom init) {
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        for (Target t : targets) {
            int rank = cfg.rankFor(t.key());
            swaps.add(LayerTuner.swap(ctx.root(), t.path(), original -> {
                ExpertsLora l = new ExpertsLora(original, t.name(), rank, cfg.scalingFor(t.key()), ctx.scope());
                LoraInjector.initialise(l.loraA(), l.loraB(), rank, cfg.initLoraWeights(), init);
                return l;
            }));
        }
        return swaps;
    }
}
