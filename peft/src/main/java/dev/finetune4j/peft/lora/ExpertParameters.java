package dev.finetune4j.peft.lora;

import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.StackedExperts;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA's {@code target_parameters}: an {@link ExpertsLora} around each stacked expert parameter the config names,
 * matched as PEFT matches them (the parameter's full name, or its ending after a dot), one entry after another in the
 * config's order, so that a layer's second target wraps its first as PEFT nests them.
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
        for (String entry : cfg.targetParameters()) {
            List<Target> matched = new ArrayList<>();
            for (Map.Entry<String, Tensor> p : root.stateDict().entrySet()) {
                String key = p.getKey().replace(WRAPPED, "");
                if (!(key.equals(entry) || key.endsWith("." + entry)) || key.contains(".lora_")) {
                    continue;
                }
                Target t = new Target(key.substring(0, key.lastIndexOf('.')), key.substring(key.lastIndexOf('.') + 1));
                if (!(modules.get(t.path()) instanceof StackedExperts experts) || !experts.experts().isMatrix(t.name())) {
                    throw new PeftException("target_parameters entry '" + entry + "' matches '" + key + "', which is not "
                            + "a stacked expert matrix: LoRA adapts the experts." + FusedExperts.GATE_UP + " and experts."
                            + FusedExperts.DOWN + " of gpt-oss, Mistral 4 and Gemma 4 this way; name linear layers in "
                            + "target_modules");
                }
                if (experts.experts().transposedByTransformers()) {
                    throw new PeftException("target_parameters entry '" + entry + "' matches '" + key + "', Qwen3-VL-MoE's "
                            + "stacked experts, which transformers 5 holds transposed from their checkpoint layout: an "
                            + "adapter on them would not load in PEFT; adapt the attention (target_modules), or train "
                            + "the experts with full fine-tuning");
                }
                Tensor w = experts.experts().parameter(t.name());
                int limit = Math.max(w.dim(1), w.dim(2));
                if (cfg.rankFor(key) > limit) {
                    throw new PeftException("r = " + cfg.rankFor(key) + " for '" + key + "' exceeds its experts' larger "
                            + "dimension " + limit + "; a LoRA rank is at most that, typically 8 to 64");
                }
                matched.add(t);
            }
            if (matched.isEmpty()) {
                throw new PeftException("target_parameters entry '" + entry + "' matches no parameter of the model; "
                        + "stacked experts (gpt-oss, Mistral 4) are e.g. 'mlp.experts." + FusedExperts.GATE_UP
                        + "' (every layer) or '7.mlp.experts." + FusedExperts.DOWN + "' (layer 7's), Gemma 4's "
                        + "'experts." + FusedExperts.GATE_UP + "'");
            }
            targets.addAll(matched);
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
