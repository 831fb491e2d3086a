package dev.finetune4j.samples.quickstart;

import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.eval.AbTest;
import dev.finetune4j.eval.AbTestResult;
import dev.finetune4j.eval.Preference;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Step 6b: A/B statistics of the bundled pairwise judgments ({@code winner}: A = candidate, B = baseline, or
 * tie): win rate, Wilson interval, sign test and the verdict by the 70% / 80% thresholds.
 */
final class AbStage {
    private AbStage() {
    }

    static AbTestResult run(Path judgments) throws IOException {
        List<Preference> prefs = new ArrayList<>();
        for (JsonObjectLines.Ok line : JsonObjectLines.readAll(judgments)) {
            if (!(line.object().get("winner") instanceof String winner)) {
                throw new IOException(judgments + " line " + line.line() + ": 'winner' must be \"A\", \"B\" or \"TIE\"");
            }
            prefs.add(Preference.valueOf(winner.toUpperCase(Locale.ROOT)));
        }
        return AbTest.builder().build().evaluate(prefs);
    }
}
