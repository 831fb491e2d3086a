package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.peft.adapter.AdapterInjector;
import dev.finetune4j.peft.freeze.FreezeInjector;
import dev.finetune4j.peft.ia3.Ia3Injector;
import dev.finetune4j.peft.lora.LoraInjector;
import dev.finetune4j.peft.prefix.PrefixInjector;
import dev.finetune4j.peft.prompt.PromptInjector;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Entry points: put a fresh adapter on a base model ({@link #wrap}), or load one saved by this library or by
 * Hugging Face PEFT ({@link #load}, {@link #loadTrainable}).
 *
 * <pre>{@code
 * CausalLM tuned = Peft.load(baseModel, Path.of("adapter-dir"));   // any supported peft_type
 * float[][][] logits = tuned.logits(ids, mask);
 * PeftModel m = Peft.wrap(baseModel, LoraConfig.builder().r(16).loraAlpha(32).targetModules("q_proj", "v_proj").build());
 * m.save(Path.of("out-dir"));
 * }</pre>
 *
 * <p>The adapter changes the base model's module tree in place (as PEFT does): one adapter per base model at a time.
 * Every base parameter is frozen; the adapter's weights live in the base model's parameter scope.
 *
 * <p>Thread safety: stateless; each call mutates the base model it is given.
 */
public final class Peft {
    private static final long DEFAULT_SEED = 0;
    private static final Logger LOG = LoggerFactory.getLogger(Peft.class);

    private Peft() {
    }

    /**
     * Injects a fresh, trainable adapter initialised from seed 0.
     *
     * @param base the model to adapt; its tree is changed in place
     * @param config the method and its settings
     * @return the model with the adapter
     */
    public static PeftModel wrap(LanguageModel base, PeftConfig config) {
        return wrap(base, config, DEFAULT_SEED);
    }

    /**
     * Injects a fresh, trainable adapter whose random initialisation comes from {@code seed}.
     *
     * @param base the model to adapt; its tree is changed in place
     * @param config the method and its settings
     * @param seed the seed of the adapter's random initialisation
     * @return the model with the adapter
     */
    public static PeftModel wrap(LanguageModel base, PeftConfig config, long seed) {
        return new PeftModel(base, inject(base, config, seed, true, false));
    }

    /**
     * Loads an adapter folder (adapter_config.json + adapter_model.safetensors) for inference: frozen.
     *
     * @param base the model the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the model with the adapter
     */
    public static PeftModel load(LanguageModel base, Path adapterDir) {
        return load(base, adapterDir, false);
    }

    /**
     * Loads an adapter folder whose parameters then require gradients (to continue training it).
     *
     * @param base the model the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the model with the adapter, trainable
     */
    public static PeftModel loadTrainable(LanguageModel base, Path adapterDir) {
        return load(base, adapterDir, true);
    }

    /**
     * Injects a fresh, trainable adapter into a sequence classifier (LoRA, IA3, bottleneck, freeze).
     *
     * @param base the classifier to adapt; its tree is changed in place
     * @param config the method and its settings
     * @return the classifier with the adapter
     */
    public static PeftClassifier wrap(BertForSequenceClassification base, PeftConfig config) {
        return new PeftClassifier(base, inject(base, classifierDefaults(config), DEFAULT_SEED, true));
    }

    /**
     * Loads an adapter folder onto a sequence classifier for inference.
     *
     * @param base the classifier the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the classifier with the adapter
     */
    public static PeftClassifier load(BertForSequenceClassification base, Path adapterDir) {
        return loadClassifier(base, adapterDir, false);
    }

    /**
     * Loads an adapter folder onto a sequence classifier, trainable.
     *
     * @param base the classifier the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the classifier with the adapter, trainable
     */
    public static PeftClassifier loadTrainable(BertForSequenceClassification base, Path adapterDir) {
        return loadClassifier(base, adapterDir, true);
    }

    private static PeftModel load(LanguageModel base, Path dir, boolean trainable) {
        JsonNode json = AdapterConfigJson.readJson(dir);
        PeftConfig config = AdapterConfigJson.parse(json, dir.resolve(AdapterConfigJson.FILE));
        List<String> warnings = BaseModelRecord.warnings(json, dir.resolve(AdapterConfigJson.FILE), base, base.spec().modelType(), false);
        return new PeftModel(base, loadWeights(inject(base, config, DEFAULT_SEED, trainable, true), dir, warnings));
    }

    private static PeftClassifier loadClassifier(BertForSequenceClassification base, Path dir, boolean trainable) {
        JsonNode json = AdapterConfigJson.readJson(dir);
        PeftConfig config = AdapterConfigJson.parse(json, dir.resolve(AdapterConfigJson.FILE));
        List<String> warnings = BaseModelRecord.warnings(json, dir.resolve(AdapterConfigJson.FILE), base, "bert", true);
        return new PeftClassifier(base, loadWeights(inject(base, config, DEFAULT_SEED, trainable), dir, warnings));
    }

    /**
     * Fills the injected adapter from the folder; on failure the base model's tree is restored before rethrowing.
     * Then logs and keeps the warnings about the base model.
     */
    private static AdapterState loadWeights(AdapterState state, Path dir, List<String> warnings) {
        try {
            state.loadWeights(dir);
            warnings.forEach(w -> LOG.warn("{}", w));
            state.warnings(warnings);
            return state;
        } catch (RuntimeException e) {
            state.unload();
            throw e;
        }
    }

    /** One adapter per base model, as PEFT's single-adapter workflow: a second injection would wrap the wrappers. */
    private static void requireNoAdapter(Module root) {
        root.namedModules().forEach((path, m) -> {
            if (m instanceof AdapterLayer) {
                throw new PeftException("the base model already carries an adapter (" + m.getClass().getSimpleName() + " at '"
                        + path + "'); one adapter per base model: call mergeAndUnload() first or load a fresh base model");
            }
        });
    }

    private static AdapterState inject(LanguageModel base, PeftConfig config, long seed, boolean trainable, boolean forLoading) {
        requireNoAdapter(base);
        base.requiresGrad(false);
        String type = base.spec().modelType();
        PeftContext ctx = new PeftContext(base, type, base.parameterScope(), base::dropoutRandom, seed, trainable);
        Map<String, Object> facts = new LinkedHashMap<>(BaseModelRecord.facts(base, type, false, base.source()));
        requireRoomForVirtualTokens(base, config);
        PeftConfig resolved = withDefaultTargets(config, type);
        return switch (resolved) {
            case PrefixTuningConfig c -> {
                facts.putAll(PrefixInjector.configFacts(base, c));
                yield new AdapterState(base, c, PrefixInjector.inject(ctx, base, c, forLoading), facts);
            }
            case PromptTuningConfig c -> {
                facts.putAll(PromptInjector.configFacts(base));
                yield new AdapterState(base, c, PromptInjector.inject(ctx, base, c), facts);
            }
            default -> new AdapterState(base, resolved, layerTuner(ctx, resolved, base.spec().hiddenSize(), base.spec().numLayers()), facts);
        };
    }

    /** Prompt and prefix tuning take positions: their virtual tokens must leave room for at least one real token. */
    private static void requireRoomForVirtualTokens(LanguageModel base, PeftConfig config) {
        int p = switch (config) {
            case PromptTuningConfig c -> c.numVirtualTokens();
            case PrefixTuningConfig c -> c.numVirtualTokens();
            default -> 0;
        };
        if (p >= base.maxPositionEmbeddings()) {
            throw new PeftException("num_virtual_tokens = " + p + " leaves no position for the input: the model has "
                    + base.maxPositionEmbeddings() + " positions (max_position_embeddings); typical values are 8 to 32");
        }
    }

    /** LoRA and IA3 with PEFT's per-model default modules written in, so the saved config lists what was adapted. */
    private static PeftConfig withDefaultTargets(PeftConfig config, String modelType) {
        return switch (config) {
            case LoraConfig c when c.targetModules() == null ->
                    c.toBuilder().targetModules(ModelTree.defaultLoraTargets(modelType)).build();
            case Ia3Config c -> Ia3Injector.withDefaults(c, modelType);
            default -> config;
        };
    }

    private static AdapterState inject(BertForSequenceClassification base, PeftConfig config, long seed, boolean trainable) {
        requireNoAdapter(base);
        base.requiresGrad(false);
        SplittableRandom dropout = new SplittableRandom(seed);
        PeftContext ctx = new PeftContext(base, "bert", base.parameterScope(), () -> dropout, seed, trainable);
        PeftConfig resolved = withDefaultTargets(config, "bert");
        return new AdapterState(base, resolved, layerTuner(ctx, resolved, base.config().hiddenSize(), base.config().numHiddenLayers()),
                BaseModelRecord.facts(base, "bert", true, Optional.empty()));
    }

    private static Tuner layerTuner(PeftContext ctx, PeftConfig config, int hidden, int layers) {
        return switch (config) {
            case LoraConfig c -> LoraInjector.inject(ctx, c);
            case Ia3Config c -> Ia3Injector.inject(ctx, c);
            case BottleneckConfig c -> AdapterInjector.inject(ctx, c, hidden);
            case FreezeConfig c -> FreezeInjector.inject(ctx, c, layers);
            case PrefixTuningConfig c -> throw new PeftException("prefix tuning needs a causal LM base (it fills the "
                    + "decoder's KV cache); " + ctx.modelType() + " classifiers support LORA, IA3, BOTTLENECK_ADAPTER and FREEZE");
            case PromptTuningConfig c -> throw new PeftException("prompt tuning is supported on causal LM bases only; "
                    + ctx.modelType() + " classifiers support LORA, IA3, BOTTLENECK_ADAPTER and FREEZE");
        };
    }

    /** PEFT's SEQ_CLS default: the classification head trains and is saved with the adapter. */
    private static PeftConfig classifierDefaults(PeftConfig config) {
        List<String> heads = List.of("classifier", "score");
        return switch (config) {
            case LoraConfig c when c.modulesToSave() == null -> c.toBuilder().modulesToSave(heads.toArray(String[]::new)).taskType("SEQ_CLS").build();
            case Ia3Config c when c.modulesToSave() == null -> new Ia3Config(c.targetModules(), c.feedforwardModules(),
                    c.fanInFanOut(), c.initIa3Weights(), heads, "SEQ_CLS");
            default -> config;
        };
    }
}
