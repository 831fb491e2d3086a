package dev.finetune4j.data.augment;

import java.io.Serializable;

/** A machine translation service, plugged in by the application (an HTTP API, a local model...). */
@FunctionalInterface
public interface Translator extends Serializable {
    /**
     * {@code text} translated from language {@code from} to {@code to} (BCP 47 codes such as {@code zh}, {@code en}).
     *
     * @param text the text
     * @param from the text's language
     * @param to the target language
     * @return the translation
     */
    String translate(String text, String from, String to);
}
