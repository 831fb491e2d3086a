package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.WrittenFile;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Results that are legal but probably not what the user wanted; they go to the log, the report and the manifest. */
public final class RunWarnings {
    /** A step that drops more than this share of what it saw is probably mis-set (threshold, schema). */
    static final double LARGE_DROP_SHARE = 0.5;
    /** A split with fewer records gives losses and metrics too noisy to act on. */
    static final long MIN_SPLIT_RECORDS = 10;

    private RunWarnings() {
    }

    /**
     * The warnings about a finished run.
     *
     * @param steps   every step's report
     * @param outputs the files written
     * @param split   whether the outputs are splits
     * @return the warnings, possibly none
     */
    public static List<String> of(List<StepReport> steps, List<WrittenFile> outputs, boolean split) {
        List<String> out = new ArrayList<>();
        for (StepReport s : steps) {
            if (s.in() > 0 && s.dropped() > LARGE_DROP_SHARE * s.in()) {
                out.add(String.format(Locale.ROOT, "step '%s' dropped %.0f%% of its records (%d of %d): check its"
                        + " settings (e.g. a near-dedup threshold that is too low)", s.name(),
                        100.0 * s.dropped() / s.in(), s.dropped(), s.in()));
            }
        }
        if (split) {
            for (WrittenFile f : outputs) {
                if (f.records() < MIN_SPLIT_RECORDS) {
                    out.add(f.file() + " holds " + f.records() + " of the records, fewer than " + MIN_SPLIT_RECORDS
                            + ": losses and metrics on it will be noise; add data or give this split a larger ratio");
                }
            }
        }
        return out;
    }
}
