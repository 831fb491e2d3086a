package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.models.ModelSpec;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * One PEFT method as {@link Peft} and {@code adapter_config.json} see it: its {@code peft_type}, its config record,
 * the mapping of that record to and from PEFT's JSON names, and the injection into a base model. Each method's
 * folder ({@code lora}, {@code ia3}, ...) has one, its injector, registered by a line in
 * {@code META-INF/services/dev.finetune4j.peft.PeftMethod}; {@link PeftRegistry} finds them with
 * {@link java.util.ServiceLoader}. Adding a method means adding a folder and that line.
 *
 * <p>What every method has the same shape of (its names, its config class, its JSON reader) is passed to the
 * constructor; a method implements {@link #inject} and overrides the defaults that concern it:
 * <pre>{@code
 * public final class Ia3Injector extends PeftMethod<Ia3Config> {
 *     public Ia3Injector() {
 *         super(Ia3Config.PEFT_TYPE, "ia3", Ia3Config.class, (json, where) -> Ia3Config.fromJson(json));
 *     }
 *     ...
 * }
 * }</pre>
 *
 * <p>Thread safety: implementations are stateless and safe from any thread; injection mutates the given model.
 *
 * @param <C> the method's config record
 */
public abstract class PeftMethod<C extends PeftConfig> {
    private final String peftType;
    private final String name;
    private final Class<C> configType;
    private final BiFunction<JsonNode, String, C> reader;

    /**
     * A method with its identity and its {@code adapter_config.json} reader, as its public no-argument constructor
     * (the one {@link java.util.ServiceLoader} calls) passes them.
     *
     * @param peftType   PEFT's {@code peft_type}, upper case ({@code "LORA"})
     * @param name       the short lower-case name, the method's folder ({@code "lora"})
     * @param configType the config record's class
     * @param reader     reads the config from a JSON object and the file or section it came from (for messages),
     *                   usually the config's static {@code fromJson}
     * @throws IllegalArgumentException when {@code peftType} is not upper case or {@code name} not lower case
     */
    protected PeftMethod(String peftType, String name, Class<C> configType, BiFunction<JsonNode, String, C> reader) {
        if (!peftType.matches("[A-Z][A-Z0-9_]*+")) {
            throw new IllegalArgumentException("peft_type '" + peftType + "' of " + getClass().getName()
                    + " must be upper case letters, digits and '_', as PEFT writes it (\"LORA\")");
        }
        if (!name.matches("[a-z][a-z0-9_]*+")) {
            throw new IllegalArgumentException("name '" + name + "' of " + getClass().getName()
                    + " must be lower case letters, digits and '_', like the method's folder (\"lora\")");
        }
        this.peftType = peftType;
        this.name = name;
        this.configType = Objects.requireNonNull(configType, "configType");
        this.reader = Objects.requireNonNull(reader, "reader");
    }

    /**
     * PEFT's {@code peft_type} this method reads and writes ({@code "LORA"}); ours for methods PEFT lacks.
     *
     * @return the value of {@code peft_type}, upper case
     */
    public final String peftType() {
        return peftType;
    }

    /**
     * The short lower-case name applications use to pick the method (the CLI's {@code method:}), its folder's name.
     *
     * @return for example {@code "lora"}
     */
    public final String name() {
        return name;
    }

    /**
     * The config record this method takes.
     *
     * @return the record's class
     */
    public final Class<C> configType() {
        return configType;
    }

    /**
     * Reads the method's fields of an {@code adapter_config.json} object; fields it does not know are ignored, as
     * PEFT writes many.
     *
     * @param json  the JSON object
     * @param where the file or section it came from, for messages
     * @return the config
     * @throws IllegalArgumentException or {@link PeftException} when a field is invalid (the message names it)
     */
    public final C fromJson(JsonNode json, String where) {
        return reader.apply(json, where);
    }

    /**
     * Puts a fresh adapter of {@code config} into the model of {@code ctx}.
     *
     * @param ctx    the base model and how to initialise
     * @param config the config, with {@link #withDefaults} applied
     * @return the injected method
     * @throws PeftException when the config does not fit the model
     */
    public abstract Tuner inject(PeftContext ctx, C config);

    /**
     * {@code config} with what it leaves to the model family filled in (PEFT's default target modules), so that
     * the saved config lists what was adapted.
     *
     * @param config    the config as given
     * @param modelType the base model's {@code model_type}
     * @return the resolved config; {@code config} itself by default
     */
    public C withDefaults(C config, String modelType) {
        return config;
    }

    /**
     * {@code config} saved so that Python PEFT adapts none of the modules under {@code leftOut}: the parts of the
     * checkpoint's transformers class this model does not hold (a vision tower), which PEFT builds and would adapt
     * wherever their names match the targets. Methods that pick modules by name widen their {@code exclude_modules}.
     *
     * @param config  the resolved config
     * @param leftOut dotted module paths the base model leaves out, not empty
     * @return the config to inject and save; {@code config} itself by default
     */
    public C excludingModulesLeftOut(C config, List<String> leftOut) {
        return config;
    }

    /**
     * {@code config} for a sequence classifier (PEFT's {@code SEQ_CLS}): methods that can save whole modules make
     * the classification heads trainable unless the config names other modules to save.
     *
     * @param config the config as given
     * @param heads  the names of classification heads ({@code classifier}, {@code score})
     * @return the config to use on a classifier; {@code config} itself by default
     */
    public C forClassifier(C config, List<String> heads) {
        return config;
    }

    /**
     * Model-derived fields PEFT writes into {@code adapter_config.json} for this method ({@code token_dim}, ...).
     *
     * @param config the resolved config
     * @param spec   the base model's shape facts
     * @return field name to JSON value; empty by default
     */
    public Map<String, Object> configFacts(C config, ModelSpec spec) {
        return Map.of();
    }
}
