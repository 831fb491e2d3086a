package dev.finetune4j.data.pii;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.util.Map;
import java.util.TreeMap;

/** Redacts every text value of a record; the report counts redactions by type. Stateless and thread-safe. */
public final class PiiStep implements Step.Stateless {
    /** The rules and strategy to apply. */
    private final PiiRedactor redactor;

    /**
     * A step that redacts every text value of a record with {@code redactor}.
     *
     * @param redactor the rules and strategy to apply
     */
    public PiiStep(PiiRedactor redactor) {
        this.redactor = redactor;
    }

    @Override
    public String name() {
        return "pii";
    }

    @Override
    public Map<String, Object> params() {
        return Map.of("redactor", "built-in rules and user rules; strategy not recorded (it may hold a key)");
    }

    @Override
    public Outcome apply(Record record) {
        Map<String, Integer> counts = new TreeMap<>();
        Record after = record.mapTexts(t -> {
            PiiRedactor.Redaction r = redactor.scan(t);
            r.counts().forEach((k, v) -> counts.merge(k, v, Integer::sum));
            return r.text();
        });
        return Outcome.keepOrChange(record, after, "redacted").withTallies(counts);
    }
}
