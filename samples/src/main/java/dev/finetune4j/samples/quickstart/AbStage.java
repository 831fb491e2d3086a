package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.eval.AbTest;
import dev.finetune4j.eval.AbTestResult;
import dev.finetune4j.eval.Preference;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        ObjectMapper json = new ObjectMapper();
        List<Preference> prefs = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(judgments, StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                JsonNode n = json.readTree(line);
                prefs.add(Preference.valueOf(n.get("winner").asText().toUpperCase(Locale.ROOT)));
            }
        }
        return AbTest.builder().build().evaluate(prefs);
    }
}
