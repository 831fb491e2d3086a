package dev.finetune4j.data.record;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;

import java.util.Locale;
import java.util.Map;

/**
 * Converts each record to one {@link Schema} with {@link Conversions#convert}, so that a pipeline writes one shape
 * whatever its inputs hold (ShareGPT tool conversations as OpenAI messages, say). A record the target cannot hold
 * (tool calls as alpaca, a preference pair as a conversation) is dropped with the reason, not written half. Stateless
 * and thread-safe.
 */
public final class ConvertStep implements Step.Stateless {
    /** The schema every kept record has after the step. */
    private final Schema target;

    /**
     * A step that converts records to {@code target}.
     *
     * @param target the schema every kept record has after the step
     */
    public ConvertStep(Schema target) {
        this.target = target;
    }

    @Override
    public String name() {
        return "convert";
    }

    @Override
    public Map<String, Object> params() {
        return Map.of("schema", target.name().toLowerCase(Locale.ROOT));
    }

    @Override
    public Outcome apply(Record record) {
        try {
            return Outcome.keepOrChange(record, Conversions.convert(record, target), "converted");
        } catch (IllegalArgumentException e) {
            // the report counts records by reason: the same problem of two records is one reason, not two
            String ofThisRecord = "cannot convert record " + record.id() + " ";
            return Outcome.drop(e.getMessage().replace(ofThisRecord, "cannot convert "));
        }
    }
}
