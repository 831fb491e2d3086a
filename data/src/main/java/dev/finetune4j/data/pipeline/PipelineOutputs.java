package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.format.FileSource;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.format.Sha256;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.record.Record;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads what a {@link Pipeline} wrote into a folder: the manifest, each split (records keep their original
 * source as id and their {@code _meta}) and the quarantine. Each split is checked against the SHA-256 the
 * manifest recorded, so a file edited or truncated after the run is refused rather than trusted.
 *
 * <pre>{@code
 * PipelineOutputs out = PipelineOutputs.open(Path.of("out"));
 * List<Record> train = out.records("train");
 * List<BadLine> bad = out.quarantine();
 * }</pre>
 */
public final class PipelineOutputs {
    private final Path dir;
    private final PipelineReport manifest;

    private PipelineOutputs(Path dir, PipelineReport manifest) {
        this.dir = dir;
        this.manifest = manifest;
    }

    /**
     * Opens a pipeline's output folder by its {@code manifest.json}.
     *
     * @param dir the folder a pipeline wrote
     * @return the folder's outputs
     * @throws IOException when the folder has no {@code manifest.json} or it cannot be read
     */
    public static PipelineOutputs open(Path dir) throws IOException {
        Path file = dir.resolve("manifest.json");
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toAbsolutePath().toString(), null,
                    "not a pipeline output folder: it has no manifest.json (Pipeline.run() writes one)");
        }
        return new PipelineOutputs(dir, Json.MAPPER.readValue(file.toFile(), PipelineReport.class));
    }

    /**
     * The run's report as written to {@code manifest.json}.
     *
     * @return the report
     */
    public PipelineReport manifest() {
        return manifest;
    }

    /**
     * The split names in the manifest's order, e.g. {@code [train, validation, test]}.
     *
     * @return the output names without extension
     */
    public List<String> splits() {
        return manifest.outputs().stream().map(f -> f.file().substring(0, f.file().lastIndexOf('.'))).toList();
    }

    /**
     * One output as a source for streaming (e.g. into another pipeline), after checking its hash.
     *
     * @param split a split name ({@code train}) or file name ({@code train.jsonl})
     * @return a source over that file, trusting its {@code _meta}
     * @throws IOException when the file cannot be read or is not the file the manifest describes
     */
    public FileSource source(String split) throws IOException {
        WrittenFile f = manifest.outputs().stream()
                .filter(o -> o.file().equals(split) || o.file().startsWith(split + ".")).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no output '" + split + "' in " + dir
                        + "; the manifest lists " + splits()));
        Path path = dir.resolve(f.file());
        String sha = Sha256.of(path);
        if (!sha.equals(f.sha256())) {
            throw new IOException(path + " is not the file the pipeline wrote (SHA-256 " + sha + ", manifest "
                    + f.sha256() + "); run the pipeline again, or read an edited file with Formats.of(path)");
        }
        return Formats.of(path).maxLineBytes(Integer.MAX_VALUE).trustMeta();
    }

    /**
     * Every record of one split, in file order.
     *
     * @param split a split name ({@code train}) or file name ({@code train.jsonl})
     * @return the records, their ids and metadata as written
     * @throws IOException when the file cannot be read, differs from the manifest or has a line that is not a record
     */
    public List<Record> records(String split) throws IOException {
        List<Record> out = new ArrayList<>();
        try (RecordStream in = source(split).open()) {
            for (Parsed p; (p = in.next()) != null; ) {
                switch (p) {
                    case Parsed.Ok ok -> out.add(ok.record());
                    case Parsed.Bad(BadLine b) -> throw new IOException(dir.resolve(b.file()) + " line " + b.line()
                            + " cannot be read back: " + b.reason());
                }
            }
        }
        return out;
    }

    /**
     * The quarantined input lines with file, line, reason and raw text; empty when no line was bad.
     *
     * @return the quarantined lines, in the order they were found
     * @throws IOException when the quarantine file cannot be read back
     */
    public List<BadLine> quarantine() throws IOException {
        List<BadLine> out = new ArrayList<>();
        if (manifest.quarantineFile() == null) {
            return out;
        }
        try (JsonObjectLines in = JsonObjectLines.open(dir.resolve(manifest.quarantineFile()), Integer.MAX_VALUE)) {
            for (JsonObjectLines.Item item; (item = in.next()) != null; ) {
                if (!(item instanceof JsonObjectLines.Ok ok)) {
                    throw new IOException(manifest.quarantineFile() + " cannot be read back: "
                            + ((JsonObjectLines.Bad) item).badLine().reason());
                }
                out.add(Json.MAPPER.convertValue(ok.object(), BadLine.class));
            }
        }
        return out;
    }
}
