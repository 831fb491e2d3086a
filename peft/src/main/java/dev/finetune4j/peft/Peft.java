package dev.finetune4j.peft;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.nn.Module;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Entry points: put a fresh adapter on a base model ({@link #wrap}), or load one saved by this library or by
 * Hugging Face PEFT ({@link #load}, {@link #loadTrainable}). The method comes from the config's type (or the
 * saved {@code peft_type}) through {@link PeftRegistry}.
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
    /** PEFT's SEQ_CLS heads: the classification layer trains and is saved with the adapter. */
    private static final List<String> CLASSIFIER_HEADS = List.of("classifier", "score");

    private Peft() {
    }

    /**
     * Whether {@code model} is an NF4-quantized base (any linear weight in NF4, as {@code QloraInjector.quantize} or a
     * load with {@code Quantization.NF4} leaves it): what a saved adapter records as its training base
     * ({@link AdapterFiles#trainedOnQuantizedBase()}) and what {@link #load} checks it against, warning of a mismatch.
     *
     * @param model a base model (or any module tree)
     * @return true when it holds an NF4 linear layer
     */
    public static boolean quantizedBase(Module model) {
        return BaseModelRecord.quantized(model);
    }

    /**
     * Injects a fresh, trainable adapter initialised from seed 0.
     *
     * @param base   the causal LM to adapt (its tree is changed in place)
     * @param config the method's config
     * @return the adapted model
     * @throws PeftException when the config does not fit the model
     */
    public static PeftModel wrap(LanguageModel base, PeftConfig config) {
        return wrap(base, config, DEFAULT_SEED);
    }

    /**
     * Injects a fresh, trainable adapter whose random initialisation comes from {@code seed}.
     *
     * @param base   the causal LM to adapt (its tree is changed in place)
     * @param config the method's config
     * @param seed   seed of the adapter's initialisation
     * @return the adapted model
     * @throws PeftException when the config does not fit the model
     */
    public static PeftModel wrap(LanguageModel base, PeftConfig config, long seed) {
        return new PeftModel(base, inject(causalContext(base, seed, true, false), config, false, state -> { }));
    }

    /**
     * Loads an adapter folder (adapter_config.json + adapter_model.safetensors) for inference: frozen.
     *
     * @param base       the causal LM the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the adapted model
     * @throws PeftException when the folder is missing, corrupt or does not fit the model
     */
    public static PeftModel load(LanguageModel base, Path adapterDir) {
        return load(base, adapterDir, false);
    }

    /**
     * Puts an adapter read beforehand on {@code base} for inference, frozen: what {@link #load(LanguageModel, Path)}
     * does after reading the folder. {@code files} stays open for the caller to close; the model keeps copies.
     *
     * @param base  the causal LM the adapter was trained on
     * @param files the adapter folder, read
     * @return the adapted model
     * @throws PeftException when the adapter does not fit the model
     */
    public static PeftModel load(LanguageModel base, AdapterFiles files) {
        return new PeftModel(base, loadInto(causalContext(base, DEFAULT_SEED, false, true), files, false));
    }

    /**
     * Loads an adapter folder whose parameters then require gradients (to continue training it).
     *
     * @param base       the causal LM the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the adapted model
     * @throws PeftException when the folder is missing, corrupt or does not fit the model
     */
    public static PeftModel loadTrainable(LanguageModel base, Path adapterDir) {
        return load(base, adapterDir, true);
    }

    /**
     * Injects a fresh, trainable adapter into a sequence classifier (methods that wrap layers: LoRA, IA3,
     * bottleneck, freeze); the classification head trains and saves with it unless the config names other
     * modules to save.
     *
     * @param base   the classifier to adapt (its tree is changed in place)
     * @param config the method's config
     * @return the adapted classifier
     * @throws PeftException when the config does not fit the model
     */
    public static PeftClassifier wrap(SequenceClassifierModule base, PeftConfig config) {
        return new PeftClassifier(base, inject(classifierContext(base, true, false), config, true, state -> { }));
    }

    /**
     * Loads an adapter folder onto a sequence classifier for inference.
     *
     * @param base       the classifier the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the adapted classifier
     * @throws PeftException when the folder is missing, corrupt or does not fit the model
     */
    public static PeftClassifier load(SequenceClassifierModule base, Path adapterDir) {
        return loadClassifier(base, adapterDir, false);
    }

    /**
     * Loads an adapter folder onto a sequence classifier, trainable.
     *
     * @param base       the classifier the adapter was trained on
     * @param adapterDir the adapter folder
     * @return the adapted classifier
     * @throws PeftException when the folder is missing, corrupt or does not fit the model
     */
    public static PeftClassifier loadTrainable(SequenceClassifierModule base, Path adapterDir) {
        return loadClassifier(base, adapterDir, true);
    }

    private static PeftModel load(LanguageModel base, Path dir, boolean trainable) {
        try (AdapterFiles files = AdapterFiles.read(dir)) {
            return new PeftModel(base, loadInto(causalContext(base, DEFAULT_SEED, trainable, true), files, false));
        }
    }

    private static PeftClassifier loadClassifier(SequenceClassifierModule base, Path dir, boolean trainable) {
        try (AdapterFiles files = AdapterFiles.read(dir)) {
            return new PeftClassifier(base, loadInto(classifierContext(base, trainable, true), files, true));
        }
    }

    private static PeftContext causalContext(LanguageModel base, long seed, boolean trainable, boolean forLoading) {
        return new PeftContext(base, base.spec(), base, base.parameterScope(), base::dropoutRandom, seed, trainable, forLoading);
    }

    /** A classifier's context; its adapters draw their dropout from the classifier's stream, as its own dropouts. */
    private static PeftContext classifierContext(SequenceClassifierModule base, boolean trainable, boolean forLoading) {
        return new PeftContext(base, base.spec(), null, base.parameterScope(), base::dropoutRandom, DEFAULT_SEED,
                trainable, forLoading);
    }

    /**
     * Injects the read adapter's method and fills it from its weights (on failure the base model is put back as it
     * was). Then logs and keeps the warnings about the base model.
     */
    private static AdapterState loadInto(PeftContext ctx, AdapterFiles files, boolean classifier) {
        List<String> warnings = BaseModelRecord.warnings(files.json(), AdapterFiles.configFile(files.dir()), ctx.root(),
                ctx.modelType(), classifier);
        LanguageModel base = ctx.causalLm();
        List<String> passedOver = new ArrayList<>();
        AdapterState state = inject(ctx, files.config(), classifier, s -> passedOver.addAll(s.loadWeights(files, base)));
        if (!passedOver.isEmpty()) {
            LOG.info("{}: {} tensors adapt modules the base model leaves out ({}), which act on images only; they are not "
                    + "loaded", AdapterFiles.weightsFile(files.dir()), passedOver.size(), String.join(", ", base.modulesLeftOut()));
        }
        warnings.forEach(w -> LOG.warn("{}", w));
        state.warnings(warnings);
        return state;
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

    /**
     * Freezes the base, injects the config's method and completes the adapter with {@code fill} (loading its weights,
     * or nothing for a fresh one). When any of it fails, the base model is put back as it was before rethrowing: a
     * method may fail after some of its layers are in the tree, and the next adapter must find none of them.
     */
    private static AdapterState inject(PeftContext ctx, PeftConfig config, boolean classifier, Consumer<AdapterState> fill) {
        requireNoAdapter(ctx.root());
        BaseModelSnapshot before = BaseModelSnapshot.take(ctx.root(), ctx.scope());
        try {
            ctx.root().requiresGrad(false);
            AdapterState state = inject(PeftRegistry.forConfig(config), ctx, config, classifier);
            fill.accept(state);
            return state;
        } catch (RuntimeException e) {
            before.restore();
            throw e;
        }
    }

    /**
     * Resolves the config's defaults (classifier heads, the family's targets, the exclusion of modules the base model
     * leaves out), records the facts, injects.
     */
    private static <C extends PeftConfig> AdapterState inject(PeftMethod<C> method, PeftContext ctx, C config, boolean classifier) {
        C resolved = method.withDefaults(classifier ? method.forClassifier(config, CLASSIFIER_HEADS) : config, ctx.modelType());
        List<String> leftOut = ctx.causalLm() == null ? List.of() : ctx.causalLm().modulesLeftOut();
        if (!leftOut.isEmpty()) {
            resolved = method.excludingModulesLeftOut(resolved, leftOut);
        }
        Optional<Path> source = ctx.causalLm() == null ? Optional.empty() : ctx.causalLm().source();
        Map<String, Object> facts = new LinkedHashMap<>(BaseModelRecord.facts(ctx.root(), ctx.modelType(), classifier, source));
        facts.putAll(method.configFacts(resolved, ctx.spec()));
        return new AdapterState(ctx.root(), resolved, method.inject(ctx, resolved), facts);
    }
}
