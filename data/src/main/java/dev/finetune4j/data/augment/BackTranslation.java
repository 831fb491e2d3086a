package dev.finetune4j.data.augment;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.util.List;
import java.util.Map;

/**
 * Adds a paraphrase of each record made by translating its text values to a pivot language and back. The copy
 * carries {@code augmented_from}; a copy identical to the original is not added. Thread-safe when the translator is.
 */
public final class BackTranslation implements Step.Stateless {
    /** Translates the text values both ways. */
    private final Translator translator;
    /** The records' language. */
    private final String language;
    /** The language the paraphrase goes through. */
    private final String pivot;

    /**
     * A back-translation step.
     *
     * @param translator translates the text values both ways
     * @param language   the records' language (BCP 47, e.g. {@code zh})
     * @param pivot      the language to go through (e.g. {@code en})
     */
    public BackTranslation(Translator translator, String language, String pivot) {
        this.translator = translator;
        this.language = language;
        this.pivot = pivot;
    }

    @Override
    public String name() {
        return "back-translation";
    }

    @Override
    public Map<String, Object> params() {
        return Map.of("language", language, "pivot", pivot, "translator", translator.getClass().getName());
    }

    @Override
    public Outcome apply(Record record) {
        Record back = record.mapProse(t -> translator.translate(translator.translate(t, language, pivot), pivot, language));
        return back == record ? Outcome.keep(record)
                : Outcome.keep(record).withAdded(List.of(Augmented.copy(record, back, "bt", 0)));
    }
}
