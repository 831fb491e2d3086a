package dev.finetune4j.peft.freeze;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.ConfigRegex;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftMethod;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Layer freezing's {@link PeftMethod}: chooses which of the base model's own parameters train under a {@link FreezeConfig}: those of the last N
 * transformer layers (found as the number after {@code layers.}, {@code h.} or {@code layer.}) and those whose
 * name contains a match of a pattern. Everything else stays frozen.
 *
 * <p>Thread safety: stateless.
 */
public final class FreezeInjector extends PeftMethod<FreezeConfig> {
    private static final Pattern LAYER_INDEX = Pattern.compile("(?:^|\\.)(?:layers|h|layer)\\.(\\d+)\\.");

    /** The instance {@link java.util.ServiceLoader} creates. */
    public FreezeInjector() {
        super(FreezeConfig.PEFT_TYPE, "freeze", FreezeConfig.class, FreezeConfig::fromJson);
    }

    /**
     * Selects the base model's parameters to train (they require gradients when the model is wrapped for training);
     * every other parameter stays frozen. The top layers are counted from the model's spec.
     *
     * @param ctx the model being wrapped
     * @param cfg the number of top layers and the name patterns to train
     * @return the tuner that names the trained parameters, to save them
     */
    @Override
    public FrozenLayers inject(PeftContext ctx, FreezeConfig cfg) {
        int numLayers = ctx.spec().numLayers();
        int first = numLayers - Math.min(cfg.topLayers(), numLayers);
        List<ConfigRegex> names = cfg.trainableNames().stream().map(p -> ConfigRegex.compile("trainable_names", p)).toList();
        Map<String, Tensor> chosen = new LinkedHashMap<>();
        Set<String> buffers = ctx.root().bufferNames(); // fixed tensors (Gemma 4's layer_scalar) never train
        ctx.root().stateDict().forEach((name, t) -> {
            if (buffers.contains(name)) {
                return;
            }
            Matcher m = LAYER_INDEX.matcher(name);
            boolean top = cfg.topLayers() > 0 && m.find() && Integer.parseInt(m.group(1)) >= first;
            boolean named = names.stream().anyMatch(p -> p.find(name));
            if (top || named) {
                chosen.put(LayerTuner.SAVED_PREFIX + name, t);
            }
        });
        if (chosen.isEmpty()) {
            throw new PeftException("the freeze config selects no parameter: top_layers = " + cfg.topLayers()
                    + " of " + numLayers + ", trainable_names " + cfg.trainableNames() + " match none of "
                    + ctx.root().stateDict().keySet().stream().limit(12).toList() + "...");
        }
        chosen.values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return new FrozenLayers(chosen);
    }
}
