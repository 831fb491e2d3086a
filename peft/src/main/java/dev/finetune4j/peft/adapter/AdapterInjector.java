package dev.finetune4j.peft.adapter;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.LinearInit;
import dev.finetune4j.peft.ModelTree;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftFamilies;
import dev.finetune4j.peft.PeftMethod;
import dev.finetune4j.peft.TargetModules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Bottleneck adapters' {@link PeftMethod}: places them per {@link BottleneckConfig.Placement}, Houlsby after each
 * layer's attention and MLP, Pfeiffer after the MLP only. The sublayers are found by the family's module names.
 *
 * <p>Thread safety: stateless; injection mutates the given model.
 */
public final class AdapterInjector extends PeftMethod<BottleneckConfig> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public AdapterInjector() {
        super(BottleneckConfig.PEFT_TYPE, "adapter", BottleneckConfig.class, BottleneckConfig::fromJson);
    }

    /**
     * Wraps the attention and/or MLP sublayers of every layer in a {@link BottleneckAdapter} with a fresh down
     * projection and a zero up projection, of the model's residual width C (its hidden size).
     *
     * @param ctx the model being wrapped, its scope and seed
     * @param cfg placement, reduction factor and activation
     * @return the tuner that remembers the swaps, to save, merge or unload them
     */
    @Override
    public LayerTuner inject(PeftContext ctx, BottleneckConfig cfg) {
        int width = ctx.spec().hiddenSize();
        PeftFamilies.AdapterSites sites = sites(ctx.modelType());
        TargetModules attention = sites.attention();
        TargetModules mlp = sites.mlp();
        boolean houlsby = cfg.placement() == BottleneckConfig.Placement.HOULSBY;
        List<String> paths = ModelTree.select(ctx.root(), p -> mlp.matches(p) || (houlsby && attention.matches(p)),
                "bottleneck adapter sites " + (houlsby ? attention + " and " : "") + mlp);
        SplittableRandom random = new SplittableRandom(ctx.seed());
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String path : paths) {
            LayerTuner.Swap s = LayerTuner.swap(ctx.root(), path,
                    m -> new BottleneckAdapter(m, width, cfg.reductionFactor(), cfg.nonLinearity(), ctx.scope()));
            BottleneckAdapter a = (BottleneckAdapter) s.wrapper();
            Tensor down = a.down().weight();
            LinearInit.fanInUniform(down, down.dim(1), random);
            swaps.add(s);
            a.stateDict().forEach((n, t) -> {
                if (n.startsWith("adapter_")) {
                    tensors.put(LayerTuner.SAVED_PREFIX + path + "." + n, t);
                }
            });
        }
        tensors.values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return new LayerTuner(swaps, tensors);
    }

    /** The sublayers adapters follow in the base model's family ({@link PeftFamilies}). */
    private static PeftFamilies.AdapterSites sites(String modelType) {
        return PeftFamilies.of(modelType).map(PeftFamilies.Family::adapterSites).orElseThrow(() -> new PeftException(
                "bottleneck adapters know no sublayer names for model_type '" + modelType + "'; supported: "
                        + String.join(", ", PeftFamilies.all().stream().filter(f -> f.adapterSites() != null)
                        .map(PeftFamilies.Family::modelType).toList())));
    }
}
