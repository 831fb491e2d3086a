package dev.finetune4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.data.format.Json;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The near-dedup answer key of a {@link DedupDocs} corpus: a document should be dropped exactly when an earlier
 * document of its planted cluster exists. Writes the corpus as JSONL ({@code text} and the document's id as
 * {@code doc}) and scores what an engine kept against that key.
 */
final class PlantedDuplicates {
    private final int documents;
    private final Set<Integer> shouldDrop;

    /**
     * What an engine dropped, scored.
     *
     * @param dropped   documents dropped
     * @param precision the share of the dropped documents that should have been dropped
     * @param recall    the share of the documents that should have been dropped that were
     */
    record Quality(long dropped, double precision, double recall) {
        @Override
        public String toString() {
            return String.format("dropped %,d, precision %.4f, recall %.4f", dropped, precision, recall);
        }
    }

    private PlantedDuplicates(int documents, Set<Integer> shouldDrop) {
        this.documents = documents;
        this.shouldDrop = shouldDrop;
    }

    /**
     * Writes {@code docs} to {@code jsonl}, one object per line, and returns their answer key.
     *
     * @param docs  the corpus, in order
     * @param jsonl the file to write
     * @return the documents that near dedup should drop
     * @throws IOException when the file cannot be written
     */
    static PlantedDuplicates write(List<DedupDocs.Doc> docs, Path jsonl) throws IOException {
        Set<Integer> shouldDrop = new HashSet<>();
        Map<Integer, Integer> earliest = new HashMap<>();
        try (BufferedWriter w = Files.newBufferedWriter(jsonl)) {
            for (DedupDocs.Doc d : docs) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("text", d.text());
                row.put("doc", d.id());
                w.write(Json.write(row));
                w.write('\n');
                if (earliest.putIfAbsent(d.cluster(), d.id()) != null) {
                    shouldDrop.add(d.id());
                }
            }
        }
        return new PlantedDuplicates(docs.size(), shouldDrop);
    }

    /** How many documents should be dropped. */
    int expectedDrops() {
        return shouldDrop.size();
    }

    /**
     * The ids of the documents in an engine's output.
     *
     * @param output a JSONL file or a folder of part files
     * @return the {@code doc} field of every line
     * @throws IOException when the output cannot be read
     */
    static Set<Integer> keptIds(Path output) throws IOException {
        Set<Integer> ids = new HashSet<>();
        for (String line : EnginesAgreeTest.lines(output)) {
            JsonNode node = Json.MAPPER.readTree(line);
            ids.add(node.get("doc").asInt());
        }
        return ids;
    }

    /**
     * Scores the documents an engine kept (ids {@code 0..n-1}; every other one was dropped).
     *
     * @param kept the ids of the kept documents
     * @return precision and recall of the drops
     */
    Quality score(Set<Integer> kept) {
        long dropped = 0;
        long right = 0;
        for (int id = 0; id < documents; id++) {
            if (!kept.contains(id)) {
                dropped++;
                right += shouldDrop.contains(id) ? 1 : 0;
            }
        }
        return new Quality(dropped, (double) right / dropped, (double) right / shouldDrop.size());
    }
}
