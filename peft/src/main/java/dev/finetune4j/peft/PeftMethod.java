package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.models.ModelSpec;

import java.util.List;
import java.util.Map;

/**
 * One PEFT method as {@link Peft} and {@code adapter_config.json} see it: its {@code peft_type}, its config record,
 * the mapping of that record to and from PEFT's JSON names, and the injection into a base model. Each method's
 * folder ({@code lora}, {@code ia3}, ...) has one, its injector, registered by a line in
 * {@code META-INF/services/dev.finetune4j.peft.PeftMethod}; {@link PeftRegistry} finds them with
 * {@link java.util.ServiceLoader}. Adding a method means adding a folder and that line.
 *
 * <p>Thread safety: implementations are stateless and safe from any thread; injection mutates the given model.
 *
 * @param <C> the method's config record
 */
public interface PeftMethod<C extends PeftConfig> {

    /**
     * PEFT's {@code peft_type} this method reads and writes ({@code "LORA"}); ours for methods PEFT lacks.
     *
     * @return the value of {@code peft_type}, upper case
     */
    String peftType();

    /**
     * The short lower-case name applications use to pick the method (the CLI's {@code method:}), its folder's name.
     *
     * @return for example {@code "lora"}
     */
    String name();

    /**
     * The config record this method takes.
     *
     * @return the record's class
     */
    Class<C> configType();

    /**
     * Reads the method's fields of an {@code adapter_config.json} object; fields it does not know are ignored, as
     * PEFT writes many.
     *
     * @param json  the JSON object
     * @param where the file or section it came from, for messages
     * @return the config
     * @throws IllegalArgumentException or {@link PeftException} when a field is invalid (the message names it)
     */
    C fromJson(JsonNode json, String where);


    /**
     * Puts a fresh adapter of {@code config} into the model of {@code ctx}.
     *
     * @param ctx    the base model and how to initialise
     * @param config the config, with {@link #withDefaults} applied
     * @return the injected method
     * @throws PeftException when the config does not fit the model
     */
    Tuner inject(PeftContext ctx, C config);

    /**
     * {@code config} with what it leaves to the model family filled in (PEFT's default target modules), so that
     * the saved config lists what was adapted.
     *
     * @param config    the config as given
     * @param modelType the base model's {@code model_type}
     * @return the resolved config; {@code config} itself by default
     */
    default C withDefaults(C config, String modelType) {
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
    default C forClassifier(C config, List<String> heads) {
        return config;
    }

    /**
     * Model-derived fields PEFT writes into {@code adapter_config.json} for this method ({@code token_dim}, ...).
     *
     * @param config the resolved config
     * @param spec   the base model's shape facts
     * @return field name to JSON value; empty by default
     */
    default Map<String, Object> configFacts(C config, ModelSpec spec) {
        return Map.of();
    }
}
