package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftMethod;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.PeftRegistry;
import dev.finetune4j.peft.qlora.QloraInjector;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Wraps a base model with the PEFT method a {@code train} config names: a registered method's name
 * ({@link PeftRegistry#names()}), or one of the two LoRA shorthands {@code dora} and {@code qlora}. The config's
 * {@code peft} section holds the method's {@code adapter_config.json} fields under PEFT's names and is read by the
 * method's own mapping; a key that the method's config does not carry is refused.
 */
final class PeftMethods {
    /** LoRA with {@code use_dora: true}. */
    private static final String DORA = "dora";
    /** LoRA on the base model quantized to NF4. */
    private static final String QLORA = "qlora";
    /** Keys every method's section may hold besides its own. */
    private static final Set<String> COMMON_KEYS = Set.of("task_type");

    private PeftMethods() {
    }

    /** Every name {@code method:} accepts. */
    static List<String> names() {
        List<String> out = new ArrayList<>(PeftRegistry.names());
        out.add(out.indexOf("lora") + 1, DORA);
        out.add(out.indexOf(DORA) + 1, QLORA);
        return out;
    }

    /**
     * Whether the method trains over a base whose linear weights are NF4 (QLoRA): such a base is best loaded
     * quantized ({@code ModelInputs.loadForTraining}), so that the full-precision model never exists in memory.
     */
    static boolean quantizesBase(String method) {
        return method != null && method.toLowerCase(Locale.ROOT).equals(QLORA);
    }

    /** The method's adapter on {@code base}, initialised from {@code seed}; settings the method refuses are bad input. */
    static PeftModel wrap(LanguageModel base, String method, ObjectNode peft, long seed) {
        String name = name(method);
        try {
            PeftConfig config = read(method(name), settingsOf(peft), name, "CAUSAL_LM");
            if (name.equals(QLORA)) {
                QloraInjector.quantize(base); // nothing left to do on a base loaded for it (quantizesBase)
            }
            return Peft.wrap(base, config, seed);
        } catch (IllegalArgumentException | PeftException e) {
            throw new BadInputException("invalid 'peft' settings for method " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * The method's adapter on a sequence classifier (task SEQ_CLS: its head trains and saves as modules_to_save);
     * settings the method refuses are bad input.
     */
    static PeftClassifier wrapClassifier(SequenceClassifierModule base, String method, ObjectNode peft) {
        String name = name(method);
        if (name.equals(QLORA)) {
            throw new BadInputException("method qlora quantizes a causal LM's base; for a classifier use lora or dora");
        }
        try {
            return Peft.wrap(base, read(method(name), settingsOf(peft), name, "SEQ_CLS"));
        } catch (IllegalArgumentException | PeftException e) {
            throw new BadInputException("invalid 'peft' settings for method " + name + ": " + e.getMessage(), e);
        }
    }

    private static String name(String method) {
        return method == null ? "lora" : method.toLowerCase(Locale.ROOT);
    }

    /** The registry's method of a CLI name (dora and qlora are LoRA's); an unknown name is bad input. */
    private static PeftMethod<?> method(String name) {
        boolean lora = name.equals(DORA) || name.equals(QLORA);
        if (!lora && !PeftRegistry.names().contains(name)) {
            throw new BadInputException("unknown method '" + name + "'; use one of " + names());
        }
        return PeftRegistry.forName(lora ? "lora" : name);
    }

    private static ObjectNode settingsOf(ObjectNode peft) {
        return peft == null ? JsonNodeFactory.instance.objectNode() : peft.deepCopy();
    }

    /**
     * The config of the section, read as an adapter_config.json object with the CLI's defaults (the task type
     * given; LoRA's alpha 16 and 16 virtual tokens where the section leaves them out).
     */
    private static <C extends PeftConfig> C read(PeftMethod<C> m, ObjectNode settings, String name, String task) {
        ObjectNode json = settings.deepCopy();
        json.put("peft_type", m.peftType());
        json.put("task_type", settings.path("task_type").asText(task));
        if (name.equals(DORA)) {
            json.put("use_dora", true);
        }
        if (!json.has("lora_alpha")) {
            json.put("lora_alpha", 16);
        }
        if (!json.has("num_virtual_tokens")) {
            json.put("num_virtual_tokens", 16);
        }
        C config = m.fromJson(json, "peft");
        requireKnownKeys(m, config, settings, name);
        return config;
    }

    /** Refuses keys the method's config does not carry: what its mapping writes back is what it reads. */
    private static <C extends PeftConfig> void requireKnownKeys(PeftMethod<C> m, C config, JsonNode settings, String name) {
        ObjectNode written = JsonNodeFactory.instance.objectNode();
        config.toJson(written);
        Set<String> accepted = new TreeSet<>(COMMON_KEYS);
        written.fieldNames().forEachRemaining(accepted::add);
        for (Iterator<String> it = settings.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!accepted.contains(k)) {
                throw new BadInputException("unknown key 'peft." + k + "' for method " + name + "; accepted: " + accepted);
            }
        }
    }
}
