package dev.finetune4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** The sacreBLEU / scikit-learn / torchmetrics golden values of {@code reference_set.json}. */
final class ReferenceSet {
    static final JsonNode ROOT = load();

    record Pair(String lang, String hyp, String ref, String ref2) {
    }

    private ReferenceSet() {
    }

    private static JsonNode load() {
        try (InputStream in = ReferenceSet.class.getResourceAsStream("/reference_set.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Pair> pairs() {
        List<Pair> out = new ArrayList<>();
        for (JsonNode p : ROOT.get("pairs")) {
            out.add(new Pair(p.get("lang").asText(), p.get("hyp").asText(), p.get("ref").asText(), p.get("ref2").asText()));
        }
        return out;
    }

    /** The pairs of subset {@code en}, {@code zh} or {@code all}. */
    static List<Pair> subset(String name) {
        return pairs().stream().filter(p -> name.equals("all") || p.lang().equals(name)).toList();
    }

    static List<String> list(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
