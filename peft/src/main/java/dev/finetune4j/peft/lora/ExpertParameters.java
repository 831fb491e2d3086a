package dev.finetune4j.peft.lora;

import dev.finetune4j.core.models.decoder.GptOssExperts;
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

    private ExpertParameters() {
    }

    /**
     * Wraps every parameter {@code cfg.targetParameters()} names.
     *
     * @param ctx the model being wrapped
     * @param cfg the config, whose ranks, alphas and initialisation apply
     * @param init the initialisation's draws
     * @return the swaps, in the order made
     * @throws PeftException for an entry that matches no parameter, or one that is not a stacked expert matrix
     */
    static List<LayerTuner.Swap> wrap(PeftContext ctx, LoraConfig cfg, SplittableRandom init) {
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        if (cfg.targetParameters() == null) {
            return swaps;
        }
        Module root = ctx.root();
        for (String target : cfg.targetParameters()) {
            List<String> experts = matchingExperts(root, target);
            for (String path : experts) {
                String name = target.substring(target.lastIndexOf('.') + 1);
                String key = path + "." + name;
                swaps.add(LayerTuner.swap(root, path, original -> {
                    Tensor w = ((StackedExperts) original).experts().parameter(name);
                    int limit = Math.max(w.dim(1), w.dim(2));
                    if (cfg.rankFor(key) > limit) {
                        throw new PeftException("r = " + cfg.rankFor(key) + " for '" + key + "' exceeds its experts' "
                                + "larger dimension " + limit + "; a LoRA rank is at most that, typically 8 to 64");
                    }
                    ExpertsLora l = new ExpertsLora(original, name, cfg.rankFor(key), cfg.scalingFor(key), ctx.scope());
                    LoraInjector.initialise(l.loraA(), l.loraB(), cfg.rankFor(key), cfg.initLoraWeights(), init);
                    return l;
                }));
            }
        }
        return swaps;
    }

    /** The paths (wrappers left out) of the experts modules {@code target} names a stacked matrix of. */
    private static List<String> matchingExperts(Module root, String target) {
        List<String> paths = new ArrayList<>();
        for (Map.Entry<String, Tensor> p : root.stateDict().entrySet()) {
            String key = p.getKey().replace(WRAPPED, "");
            if (!(key.equals(target) || key.endsWith("." + target)) || key.contains(".lora_")) {
                continue;
            }
            int dot = key.lastIndexOf('.');
            String path = key.substring(0, dot);
            String name = key.substring(dot + 1);
            Module owner = root.namedModules().get(path);
            boolean stacked = owner instanceof StackedExperts
                    && (name.equals(GptOssExperts.GATE_UP) || name.equals(GptOssExperts.DOWN));
            if (!stacked) {
                throw new PeftException("target_parameters entry '" + target + "' matches '" + key + "', which is not a "
                        + "stacked expert matrix: LoRA adapts gpt-oss's mlp.experts." + GptOssExperts.GATE_UP + " and "
                        + "mlp.experts." + GptOssExperts.DOWN + " this way; name linear layers in target_modules");
            }
            if (!paths.contains(path)) {
                paths.add(path);
            }
        }
        if (paths.isEmpty()) {
            throw new PeftException("target_parameters entry '" + target + "' matches no parameter of the model; "
                    + "gpt-oss's stacked experts are e.g. 'mlp.experts." + GptOssExperts.GATE_UP + "' (every layer) or "
                    + "'7.mlp.experts." + GptOssExperts.DOWN + "' (layer 7's)");
        }
        return paths;
    }
}
