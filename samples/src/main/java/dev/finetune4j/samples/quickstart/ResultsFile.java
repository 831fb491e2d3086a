package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.eval.AbTestResult;
import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateDecision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code results.json}: everything the run measured, for machines (CI dashboards, the promotion record): settings,
 * data counts, metrics of every model, training summaries, DPO and A/B statistics, the gate's decision and where
 * the artifacts are. Wall times are in {@code timings}; everything else is the same for the same seed.
 */
final class ResultsFile {
    private final Map<String, Object> root = new LinkedHashMap<>();

    ResultsFile(QuickstartSettings settings) {
        root.put("settings", settings);
    }

    ResultsFile data(PipelineReport r) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("input_records", r.inputs().getFirst().records());
        d.put("quarantined", r.quarantinedByKind());
        for (StepReport s : r.steps()) {
            d.put(s.name(), Map.of("kept", s.kept(), "changed", s.changed(), "dropped", s.dropped(),
                    "tallies", s.tallies()));
        }
        r.outputs().forEach(f -> d.put(f.file(), f.records()));
        root.put("data", d);
        return this;
    }

    ResultsFile models(List<EvalReport> reports) {
        Map<String, Object> m = new LinkedHashMap<>();
        reports.forEach(r -> m.put(r.model(), r.metrics()));
        root.put("metrics", m);
        return this;
    }

    ResultsFile put(String key, Object value) {
        root.put(key, value);
        return this;
    }

    ResultsFile ab(AbTestResult ab) {
        return put("ab_test", ab);
    }

    ResultsFile gate(GateDecision d) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("verdict", d.verdict().name());
        g.put("reasons", d.reasons());
        return put("gate", g);
    }

    void write(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
    }
}
