package dev.finetune4j.peft.ia3;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.ModelTree;
import dev.finetune4j.peft.ModulesToSave;
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
 * IA3's {@link PeftMethod}: puts an {@link Ia3Linear} around every targeted module; feed-forward targets rescale
 * their input.
 *
 * <p>Thread safety: stateless; injection mutates the given model.
 */
public final class Ia3Injector extends PeftMethod<Ia3Config> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public Ia3Injector() {
        super(Ia3Config.PEFT_TYPE, "ia3", Ia3Config.class, (json, where) -> Ia3Config.fromJson(json));
    }

    /** PEFT's SEQ_CLS default: the heads train and save with the adapter unless modules to save are given. */
    @Override
    public Ia3Config forClassifier(Ia3Config c, List<String> heads) {
        return c.modulesToSave() != null ? c
                : new Ia3Config(c.targetModules(), c.feedforwardModules(), c.excludeModules(), c.fanInFanOut(), c.initIa3Weights(), heads, "SEQ_CLS");
    }

    /**
     * Injects IA3 vectors of ones ({@code init_ia3_weights}) or N(0, 1) draws.
     *
     * @param ctx the model being wrapped, its scope and seed
     * @param cfg the target and feed-forward modules
     * @return the tuner that remembers the swaps, to save, merge or unload them
     */
    @Override
    public LayerTuner inject(PeftContext ctx, Ia3Config cfg) {
        Module root = ctx.root();
        TargetModules targets = cfg.targetModules() == null ? defaults(ctx.modelType()).targets() : cfg.targetModules();
        TargetModules feedforward = cfg.feedforwardModules() == null ? defaults(ctx.modelType()).feedForward()
                : cfg.feedforwardModules();
        TargetModules save = cfg.modulesToSave() == null ? null : TargetModules.names(cfg.modulesToSave().toArray(String[]::new));
        TargetModules exclude = cfg.excludeModules();
        List<String> paths = ModelTree.select(root, p -> targets.matches(p) && (save == null || !save.matches(p))
                        && (exclude == null || !exclude.matches(p)),
                "target_modules " + targets);
        SplittableRandom random = new SplittableRandom(ctx.seed());
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String path : paths) {
            LayerTuner.Swap s = LayerTuner.swap(root, path,
                    m -> new Ia3Linear(m, BaseLinear.of(m, path), feedforward.matches(path), ctx.scope()));
            Tensor l = ((Ia3Linear) s.wrapper()).scales();
            StateDicts.fill(l, () -> cfg.initIa3Weights() ? 1 : StateDicts.gaussian(random));
            swaps.add(s);
            tensors.put(LayerTuner.SAVED_PREFIX + path + ".ia3_l", l);
        }
        for (LayerTuner.Swap s : ModulesToSave.wrapAll(ctx, cfg.modulesToSave(), swaps)) {
            swaps.add(s);
            tensors.putAll(((ModulesToSave) s.wrapper()).savedTensors(LayerTuner.SAVED_PREFIX + s.path()));
        }
        tensors.values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return new LayerTuner(swaps, tensors);
    }

    /**
     * {@code cfg} with PEFT's per-model defaults filled in where it leaves the modules out (what gets saved).
     *
     * @param cfg the configuration as given
     * @param modelType the base model's {@code model_type}
     * @return the configuration with target and feed-forward modules filled in
     */
    @Override
    public Ia3Config withDefaults(Ia3Config cfg, String modelType) {
        if (cfg.targetModules() != null) {
            return cfg;
        }
        PeftFamilies.Ia3Targets d = defaults(modelType);
        return new Ia3Config(d.targets(), d.feedForward(), cfg.excludeModules(), cfg.fanInFanOut(), cfg.initIa3Weights(), cfg.modulesToSave(),
                cfg.taskType());
    }

    /** Widens {@code exclude_modules} to the modules the base model leaves out ({@link TargetModules#excludingUnder}). */
    @Override
    public Ia3Config excludingModulesLeftOut(Ia3Config cfg, List<String> leftOut) {
        return cfg.withExcludeModules(TargetModules.excludingUnder(cfg.excludeModules(), leftOut));
    }

    /** PEFT's default {target_modules, feedforward_modules} of the base model's family ({@link PeftFamilies}). */
    private static PeftFamilies.Ia3Targets defaults(String modelType) {
        return PeftFamilies.of(modelType).map(PeftFamilies.Family::ia3).orElseThrow(() -> new PeftException(
                "no default IA3 target_modules for model_type '" + modelType
                        + "': set target_modules and feedforward_modules explicitly"));
    }
}
