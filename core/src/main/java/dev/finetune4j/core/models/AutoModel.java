package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderForSequenceClassification;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.gpt2.Gpt2Config;
import dev.finetune4j.core.models.gpt2.Gpt2Model;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Loads a Hugging Face model folder (config.json plus model.safetensors or a sharded index) by its
 * {@code model_type}.
 *
 * <pre>{@code
 * try (CausalLM lm = AutoModel.loadCausalLM(Path.of("Qwen2.5-0.5B"))) { ... }
 * }</pre>
 *
 * Weights keep their checkpoint dtype unless {@link LoadOptions} says otherwise (see
 * {@link #loadCausalLM(Path, LoadOptions)}).
 */
public final class AutoModel {
    private static final Logger LOG = LoggerFactory.getLogger(AutoModel.class);

    /**
     * Causal LM families, by config {@code model_type}: the decoder's ({@link DecoderConfig#MODEL_TYPES}), the
     * vision-language checkpoints whose language model it loads, and GPT-2. Derived, so that a family added to the
     * decoder is named in messages without a second list to keep.
     */
    public static final List<String> CAUSAL_LM_TYPES = causalLmTypes();
    /**
     * Sequence-classification families: the encoders BERT, RoBERTa, XLM-RoBERTa and DistilBERT, and the decoders that
     * transformers has a {@code *ForSequenceClassification} for (not Granite 3 and 4, OLMoE, ERNIE 4.5, Cohere, LFM2,
     * GLM-4.5, Qwen3.5-MoE, Apertus, Falcon-H1, Nemotron-H or the vision-language checkpoints), so that a saved
     * classifier is one transformers loads.
     */
    public static final List<String> CLASSIFIER_TYPES = List.of("bert", "roberta", "xlm-roberta", "distilbert", "llama",
            "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "smollm3", "glm", "glm4",
            "exaone4", "seed_oss", "hunyuan_v1_dense", "starcoder2", "arcee", "mixtral", "qwen2_moe", "qwen3_moe",
            "gpt_oss", "olmo2", "olmo3", LatentAttentionConfig.V2_MODEL_TYPE, LatentAttentionConfig.MODEL_TYPE,
            DecoderConfig.QWEN35_TEXT, DecoderConfig.QWEN3_NEXT, DecoderConfig.MINISTRAL, DecoderConfig.MINISTRAL3,
            LatentAttentionConfig.MISTRAL4_MODEL_TYPE);
    /** The decoder classifiers' head, which a causal LM checkpoint lacks. */
    private static final String SCORE = "score.weight";

    private AutoModel() {
    }

    private static List<String> causalLmTypes() {
        List<String> types = new ArrayList<>(new TreeSet<>(DecoderConfig.MODEL_TYPES));
        // the text config inside qwen3_vl_moe folders: transformers has no causal LM of that type alone
        types.remove(MoeConfig.QWEN3_VL_MOE_TEXT);
        Arrays.stream(VisionLanguageCheckpoint.values()).map(VisionLanguageCheckpoint::modelType).sorted().forEach(types::add);
        types.add("gpt2");
        return List.copyOf(types);
    }

    /**
     * Loads a causal LM (LLaMA, Mistral, Qwen2, Qwen3, Qwen3.5, Qwen3-VL, Gemma 1-3, Phi-3, Granite 3 and 4, OLMo 2 and 3,
     * SmolLM3, GLM, GLM-4, ERNIE 4.5, Cohere (Command R, R7B, Aya), Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, gpt-oss or GPT-2) with the {@link LoadOptions#defaults() default
     * options}. Of Gemma 3's vision-language checkpoints ({@code model_type} {@code gemma3}) the language model is
     * loaded, under transformers' names ({@link DecoderLayout#GEMMA3_CONDITIONAL_GENERATION}); the vision tower is not.
     * Of Qwen3.5's ({@code qwen3_5}, {@code qwen3_5_moe}) the language model is loaded as transformers'
     * {@code AutoModelForCausalLM} loads it, a {@code Qwen3_5ForCausalLM} or {@code Qwen3_5MoeForCausalLM} (weights
     * named {@code model.*}). Of Qwen3-VL's ({@code qwen3_vl}) the language model is loaded under the names of
     * {@code Qwen3VLForConditionalGeneration} ({@link DecoderLayout#QWEN3_VL_CONDITIONAL_GENERATION}), the class users
     * load it with; its vision tower is not.
     *
     * @param dir a Hugging Face model folder (config.json, safetensors weights)
     * @return the model; close it to free its weights
     */
    public static LanguageModel loadCausalLM(Path dir) {
        return loadCausalLM(dir, LoadOptions.defaults());
    }

    /**
     * Loads a causal LM (any of {@link #CAUSAL_LM_TYPES}) as the options say. The module tree is built on
     * {@link Device#meta()} (shapes only) and each weight goes from the file into its final storage once: BF16
     * and F16 weights kept in their dtype on the CPU stay memory-mapped (the checkpoint then stays open until
     * the model is closed); others are converted and copied; with {@link LoadOptions#quantization()} NF4 the linear
     * weights are quantized as they are read.
     *
     * @param dir a Hugging Face model folder (config.json, safetensors weights)
     * @param options the weights' dtype, device and quantization
     * @return the model; close it to free its weights
     */
    public static LanguageModel loadCausalLM(Path dir, LoadOptions options) {
        JsonNode config = readConfig(dir);
        requireLoadableQuantization(dir, config);
        // the module tree on Device.meta() holds shapes only: it names the weights for the check below
        LanguageModel model = newCausalLM(config, TensorScope.detached(Device.meta()));
        VisionLanguageCheckpoint visionLanguage = VisionLanguageCheckpoint.of(config);
        Function<String, String> alias = visionLanguage != null ? visionLanguage::storedName
                : model instanceof DecoderModel d && d.config().blockPattern() != null ? AutoModel::backboneAlias
                : AutoModel::causalAlias;
        Predicate<String> visionParts = visionLanguage != null ? visionLanguage::isLeftOut : name -> false;
        Predicate<String> predictionLayers = model instanceof DecoderModel d ? MultiTokenPrediction.weights(d.config())
                : name -> false;
        Predicate<String> notLoaded = visionParts.or(predictionLayers);
        switch (model) {
            case DecoderModel d -> requireStoredParameters(dir, d.config().parameterCount(), model, alias, notLoaded);
            case Gpt2Model g -> requireStoredParameters(dir, g.config().parameterCount(), model, alias, notLoaded);
            default -> { }
        }
        TensorScope weights = TensorScope.detached(options.device());
        try {
            SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
            try {
                LoadProgress progress = new LoadProgress(dir.toString(), checkpointBytes(ckpt), System::nanoTime, LOG::info);
                WeightLoader.Result loaded = WeightLoader.load(model, ckpt, alias, weights,
                        options.dtype(), options.quantization(), progress);
                long vision = loaded.unused().stream().filter(visionParts).count();
                if (vision > 0) {
                    LOG.info("{}: loaded the language model of a {}; its {} ({} tensors) are not loaded: finetune4j "
                            + "trains and runs the model on text", dir, visionLanguage.architecture(),
                            visionLanguage.leftOutParts(), vision);
                }
                long prediction = loaded.unused().stream().filter(predictionLayers).count();
                if (prediction > 0) {
                    LOG.info("{}: its multi-token-prediction layers ({} tensor(s)) are not loaded: only speculative "
                            + "decoding reads them, as in transformers", dir, prediction);
                }
                warnUnused(dir, loaded.unused().stream().filter(notLoaded.negate()).toList(), "Check that config.json's "
                        + "model_type and switches (attention_bias, tie_word_embeddings, ...) match the checkpoint");
                if (loaded.mapped()) {
                    weights.closeWith(ckpt);
                } else {
                    ckpt.close();
                }
            } catch (RuntimeException e) {
                ckpt.close();
                throw e;
            }
        } catch (IOException e) {
            weights.close();
            throw new UncheckedIOException("cannot load weights from " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
        model.adoptParameterScope(weights);
        model.source(dir);
        return model;
    }

    private static long checkpointBytes(SafetensorsCheckpoint ckpt) {
        long total = 0;
        for (String name : ckpt.names()) {
            total += ckpt.info(name).byteSize();
        }
        return total;
    }

    /**
     * An untrained causal LM of the given config.json content, with zero weights (to load or initialise).
     *
     * @param config the parsed config.json, whose {@code model_type} picks the architecture
     * @param scope owns the weights
     * @return the model
     */
    public static LanguageModel newCausalLM(JsonNode config, TensorScope scope) {
        String type = config.path("model_type").asText("");
        if (DecoderConfig.MODEL_TYPES.contains(type)) {
            return new DecoderModel(scope, DecoderConfig.fromJson(config));
        }
        VisionLanguageCheckpoint visionLanguage = VisionLanguageCheckpoint.of(config);
        if (visionLanguage != null) {
            return new DecoderModel(scope, DecoderConfig.fromJson(visionLanguage.textConfig(config)),
                    visionLanguage.layout());
        }
        if (type.equals("gpt2")) {
            return new Gpt2Model(scope, Gpt2Config.fromJson(config));
        }
        scope.close();
        throw new IllegalArgumentException("unsupported model_type '" + type + "' for a causal LM; supported: "
                + CAUSAL_LM_TYPES + (CLASSIFIER_TYPES.contains(type) ? " (use loadSequenceClassifier for " + type + ")" : ""));
    }

    /**
     * An untrained causal LM of the given config.json content whose weights {@code weights} makes one at a time in
     * {@code scope}: the module tree is built on {@link Device#meta()} (shapes only), so the device never holds
     * more than the final weights and what {@code weights} allocates for the one it is making.
     *
     * @param config  the parsed config.json, whose {@code model_type} picks the architecture
     * @param scope   owns the weights; the model adopts it (closing the model closes it)
     * @param weights makes each parameter, in the order of {@link LanguageModel#stateDict()}
     * @return the model
     * @throws IllegalArgumentException when a made weight does not have its placeholder's shape or is not in
     *                                  {@code scope}
     */
    public static LanguageModel newCausalLM(JsonNode config, TensorScope scope, WeightFactory weights) {
        LanguageModel model = newCausalLM(config, TensorScope.detached(Device.meta()));
        try {
            for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                String name = e.getKey();
                Module owner = WeightLoader.owner(model, name);
                Tensor weight = weights.create(name, owner, e.getValue());
                if (!weight.shape().equals(e.getValue().shape()) || !scope.owns(weight)) {
                    throw new IllegalArgumentException("the weight factory made " + weight + " for '" + name
                            + "': it must have shape " + e.getValue().shape() + " and be allocated in the scope given to newCausalLM");
                }
                owner.setParameter(name.substring(name.lastIndexOf('.') + 1), weight);
            }
        } catch (RuntimeException e) {
            model.close();
            scope.close();
            throw e;
        }
        model.adoptParameterScope(scope);
        return model;
    }

    /**
     * Loads a sequence classifier onto the CPU with float32 weights; see
     * {@link #loadSequenceClassifier(Path, Device, ClassifierConfig)}.
     *
     * @param dir a Hugging Face model folder
     * @return the classifier; close it to free its weights
     */
    public static SequenceClassifierModule loadSequenceClassifier(Path dir) {
        return loadSequenceClassifier(dir, Device.cpu());
    }

    /**
     * Loads a sequence classifier onto a device with float32 weights; see
     * {@link #loadSequenceClassifier(Path, Device, ClassifierConfig)}.
     *
     * @param dir    a Hugging Face model folder
     * @param device where the weights live and the classifier runs, e.g. {@code Device.cuda(0)}
     * @return the classifier; close it to free its weights
     */
    public static SequenceClassifierModule loadSequenceClassifier(Path dir, Device device) {
        return loadSequenceClassifier(dir, device, null);
    }

    /**
     * Loads a sequence classifier onto a device with float32 weights, picked by config.json's {@code model_type}: an
     * {@link EncoderClassifier} for {@code bert}, {@code roberta}, {@code xlm-roberta} and {@code distilbert}
     * ({@link BertForSequenceClassification}, {@code RobertaForSequenceClassification},
     * {@code DistilBertForSequenceClassification}), a {@link DecoderForSequenceClassification} for the decoder
     * families. A folder may hold a {@code *ForSequenceClassification} checkpoint (which config.json's
     * {@code architectures} then names) or one without the head: a decoder's causal LM (its {@code lm_head} is left
     * out), an encoder's base model or masked LM ({@code RobertaModel}, {@code XLMRobertaForMaskedLM}, weights named
     * with or without the {@code roberta.} prefix). Each head module the checkpoint lacks, and the projection onto the
     * labels when the labels are new, is drawn from N(0, {@code initializer_range}) with zero biases and a fixed seed, as
     * transformers initialises a module the checkpoint lacks, to be trained: the decoders' {@code score}, BERT's pooler
     * and {@code classifier}, RoBERTa's {@code classifier.dense} and {@code classifier.out_proj}, DistilBERT's
     * {@code pre_classifier} and {@code classifier}.
     *
     * @param dir    a Hugging Face model folder
     * @param device where the weights live and the classifier runs
     * @param classifier labels, problem type and pad id replacing config.json's (start from
     *               {@code ClassifierConfig.fromJson(readConfig(dir))}); other labels than config.json's get a new
     *               projection onto them; null keeps config.json's
     * @return the classifier; close it to free its weights
     */
    public static SequenceClassifierModule loadSequenceClassifier(Path dir, Device device,
                                                              ClassifierConfig classifier) {
        JsonNode config = readConfig(dir);
        requireLoadableQuantization(dir, config);
        String type = config.path("model_type").asText("");
        if (!CLASSIFIER_TYPES.contains(type)) {
            throw new IllegalArgumentException("unsupported model_type '" + type + "' for sequence classification; supported: "
                    + CLASSIFIER_TYPES);
        }
        if (EncoderConfig.MODEL_TYPES.contains(type)) {
            return loadEncoderClassifier(dir, config, device, classifier);
        }
        return loadDecoderClassifier(dir, config, device, classifier);
    }

    /**
     * An encoder classifier with the head modules the checkpoint lacks (under the encoder's prefix or, as a base
     * model saves them, without it), and the projection onto new labels, drawn as transformers draws them.
     */
    private static EncoderClassifier loadEncoderClassifier(Path dir, JsonNode config, Device device,
                                                          ClassifierConfig given) {
        EncoderConfig encoder = EncoderConfig.fromJson(config);
        ClassifierConfig stored = ClassifierConfig.fromJson(config);
        ClassifierConfig classifier = given == null ? stored : given;
        requireStoredParameters(dir, encoder.parameterCount(), null, name -> null, name -> false);
        EncoderClassifier model = EncoderClassifier.of(TensorScope.detached(device), encoder, classifier);
        String prefix = model.baseModelPrefix() + ".";
        Function<String, String> baseModelName = n -> n.startsWith(prefix) ? n.substring(prefix.length()) : null;
        Set<String> drawn = new LinkedHashSet<>();
        try {
            List<String> missing = missingModules(dir, model, model.headModules(), baseModelName);
            if (!missing.isEmpty() && config.path("architectures").toString().contains("ForSequenceClassification")) {
                throw new IllegalArgumentException(dir + " has no " + missing + " although config.json's architectures "
                        + config.path("architectures") + " name a sequence classifier: a partial download? (download "
                        + "the weights again with config.json)");
            }
            List<String> newModules = new ArrayList<>(missing);
            if (!classifier.id2label().equals(stored.id2label()) && !missing.contains(model.labelProjection())) {
                newModules.add(model.labelProjection());
            }
            double std = JsonFields.number(config, "initializer_range", 0.02, "config.json");
            SplittableRandom random = new SplittableRandom(0);
            for (String path : newModules) {
                Module head = model.namedModules().get(path);
                StateDicts.initNormal(head, std, random);
                head.stateDict().keySet().forEach(n -> drawn.add(path + "." + n));
            }
            if (!newModules.isEmpty()) {
                LOG.warn("{} of {} newly initialized from N(0, {}) for {} labels {}: train them before use", newModules,
                        dir, std, classifier.numLabels(), classifier.id2label());
            }
        } catch (RuntimeException e) {
            closeQuietly(model);
            throw e;
        }
        warnUnused(dir, loadWeights(model, dir, drawn, baseModelName), "Expected for a checkpoint of another task (a "
                + "pretraining head such as cls.predictions or lm_head, a base model's pooler); otherwise check that "
                + "config.json matches the checkpoint");
        return model;
    }

    /** The modules of {@code paths} whose parameters the checkpoint in {@code dir} lacks, under name and alias. */
    private static List<String> missingModules(Path dir, Module model, List<String> paths,
                                               Function<String, String> alias) {
        List<String> missing = new ArrayList<>();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            Map<String, Module> modules = model.namedModules();
            for (String path : paths) {
                boolean stored = modules.get(path).stateDict().keySet().stream().map(n -> path + "." + n)
                        .allMatch(n -> ckpt.contains(n) || alias.apply(n) != null && ckpt.contains(alias.apply(n)));
                if (!stored) {
                    missing.add(path);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the weights of " + dir + ": " + e.getMessage(), e);
        }
        return missing;
    }

    private static DecoderForSequenceClassification loadDecoderClassifier(Path dir, JsonNode config, Device device,
                                                                          ClassifierConfig given) {
        DecoderConfig decoder = DecoderConfig.fromJson(config);
        ClassifierConfig stored = ClassifierConfig.fromJson(config);
        ClassifierConfig classifier = given == null ? stored : given;
        boolean hasScore;
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            hasScore = ckpt.contains(SCORE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the weights of " + dir + ": " + e.getMessage(), e);
        }
        if (!hasScore && config.path("architectures").toString().contains("ForSequenceClassification")) {
            throw new IllegalArgumentException(dir + " has no " + SCORE + " although config.json's architectures "
                    + config.path("architectures") + " name a sequence classifier: a partial download? (download the "
                    + "weights again with config.json)");
        }
        long lmHead = decoder.tieWordEmbeddings() ? 0 : (long) decoder.vocabSize() * decoder.hiddenSize();
        requireStoredParameters(dir, decoder.parameterCount() - lmHead, null, name -> null, name -> false);
        var model = new DecoderForSequenceClassification(TensorScope.detached(device), decoder, classifier);
        boolean newHead = !hasScore || !classifier.id2label().equals(stored.id2label());
        if (newHead) {
            double std = JsonFields.number(config, "initializer_range", 0.02, "config.json");
            StateDicts.initNormal((Module) model.child("score"), std, new SplittableRandom(0));
            LOG.warn("{} of {} was newly initialized for {} labels {}: train it before use", SCORE, dir,
                    classifier.numLabels(), classifier.id2label());
        }
        warnUnused(dir, loadWeights(model, dir, newHead ? Set.of(SCORE) : Set.of(), null), "Expected for a causal LM checkpoint (lm_head) or when new "
                + "labels replace the head; otherwise check that config.json matches the checkpoint");
        return model;
    }

    /**
     * Reads and parses {@code dir/config.json}.
     *
     * @param dir a model folder
     * @return the parsed JSON
     */
    public static JsonNode readConfig(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException((Files.exists(file) ? file.toAbsolutePath() + " is not a regular file"
                    : "no config.json in " + dir.toAbsolutePath()) + ": point at a Hugging Face model folder (config.json + model.safetensors)");
        }
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a checkpoint quantized by a method this library does not read (GPTQ, AWQ, bitsandbytes, FP8): its
     * weights are not the tensors the model names. gpt-oss's MXFP4 experts are read, and dequantized on load.
     */
    private static void requireLoadableQuantization(Path dir, JsonNode config) {
        JsonNode quantization = config.path("quantization_config");
        String method = quantization.path("quant_method").asText("");
        if (quantization.isObject() && !method.equals("mxfp4")) {
            throw new IllegalArgumentException(dir.resolve("config.json") + " says the checkpoint is quantized "
                    + "(quantization_config.quant_method = '" + method + "'): finetune4j loads full-precision "
                    + "checkpoints (F32, BF16, F16) and gpt-oss's MXFP4 experts. Load the unquantized model, and pass "
                    + "LoadOptions with NF4 quantization to fine-tune it in 4 bits (QLoRA)");
        }
    }

    /**
     * Refuses, before anything is allocated, a config.json whose sizes imply more parameters than the safetensors
     * files hold (their headers give the real shapes): a hostile or mismatched config must not reserve memory.
     * When weights of {@code model} (a shapes-only tree, or null) are missing by name and account for the
     * shortfall, the message names them: a partial checkpoint, not a config of another size. Tensors of parts the
     * model leaves out ({@code notLoaded}: a vision tower) do not count as stored.
     */
    private static void requireStoredParameters(Path dir, long implied, Module model, Function<String, String> aliases,
                                                Predicate<String> notLoaded) {
        long stored = 0;
        long missingNumel = 0;
        List<String> missing = new ArrayList<>();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            for (String name : ckpt.names()) {
                stored += notLoaded.test(name) ? 0 : Mxfp4.parameters(ckpt.info(name));
            }
            for (Map.Entry<String, Tensor> e : model == null ? Map.<String, Tensor>of().entrySet() : model.stateDict().entrySet()) {
                String alias = aliases.apply(e.getKey());
                if (!ckpt.contains(e.getKey()) && (alias == null || !ckpt.contains(alias))
                        && !Mxfp4.holds(ckpt, e.getKey())) {
                    missing.add(e.getKey());
                    missingNumel += e.getValue().numel();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the weights of " + dir + ": " + e.getMessage(), e);
        }
        if (implied <= stored) {
            return;
        }
        String claim = dir.resolve("config.json") + " describes a model of at least " + implied
                + " parameters, but its safetensors files hold " + stored;
        if (!missing.isEmpty() && implied - missingNumel <= stored) {
            throw new IllegalArgumentException(claim + " because they lack " + listed(missing) + ": a partial "
                    + "download or a checkpoint of another architecture (download the weights again with config.json)");
        }
        throw new IllegalArgumentException(claim + ": config.json and the weights do not belong together (check "
                + "hidden_size, num_hidden_layers, vocab_size, intermediate_size)");
    }

    /**
     * Warns, as transformers does, about checkpoint tensors no parameter took: the config may describe another
     * architecture than the file (Qwen2's q/k/v biases under model_type llama), so the logits are not the
     * checkpoint's; {@code hint} says what to check.
     */
    private static void warnUnused(Path dir, List<String> unused, String hint) {
        if (!unused.isEmpty()) {
            LOG.warn("Some weights of the model checkpoint at {} were not used: {}. {}", dir, listed(unused), hint);
        }
    }

    /** Up to ten names and the count, e.g. "3 weights: [a, b, c]". */
    private static String listed(List<String> names) {
        int shown = Math.min(10, names.size());
        return names.size() + " weight" + (names.size() == 1 ? "" : "s") + ": " + names.subList(0, shown)
                + (shown < names.size() ? " and " + (names.size() - shown) + " more" : "");
    }

    /**
     * Copies the checkpoint in {@code dir} into {@code model}'s own weights (closing it on failure) and returns the
     * checkpoint tensors it did not take, as {@link WeightLoader#unused} counts them. The parameters named in
     * {@code drawn} keep the values they have (a head the checkpoint lacks, or one for new labels); a parameter not
     * stored under its own name is looked for under {@code alias}'s (null for none).
     */
    static List<String> loadWeights(Module model, Path dir, Set<String> drawn, Function<String, String> alias) {
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            var names = new TreeSet<>(ckpt.names());
            Set<String> used = new HashSet<>();
            Map<String, Tensor> own = model.stateDict();
            StateDicts.load(model, n -> {
                if (drawn.contains(n)) {
                    return own.get(n); // drawn just now: copied onto itself, whatever the checkpoint holds
                }
                if (!names.contains(n)) {
                    return null;
                }
                used.add(n);
                return ckpt.tensor(n);
            }, alias);
            return WeightLoader.unused(ckpt, used);
        } catch (IOException e) {
            closeQuietly(model);
            throw new UncheckedIOException("cannot load weights from " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(model);
            throw e;
        }
    }

    /** Checkpoints saved by some tools prefix the backbone differently; try the common alternatives. */
    static String causalAlias(String name) {
        return name.startsWith("model.") ? name.substring("model.".length()) : null;
    }

    /**
     * Nemotron-H's checkpoints store the backbone as {@code backbone.*}, which transformers renames to {@code model.*}
     * on load (and finetune4j names it so, as PEFT's adapter keys do).
     */
    static String backboneAlias(String name) {
        return name.startsWith("model.") ? "backbone." + name.substring("model.".length()) : null;
    }

    private static void closeQuietly(Module model) {
        if (model instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // the load already failed; the original error is the one to report
            }
        }
    }
}
