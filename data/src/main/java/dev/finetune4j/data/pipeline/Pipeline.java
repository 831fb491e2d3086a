package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.QuarantineWriter;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.format.Source;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.record.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Streams records from sources through steps into outputs, a batch at a time, never holding the corpus.
 *
 * <pre>{@code
 * PipelineReport report = Pipeline.builder()
 *     .read(Formats.jsonl(in))
 *     .step(new TextCleaner(CleanConfig.defaults()))
 *     .step(new ExactDedup())
 *     .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(42))
 *     .write(outDir)
 *     .run();
 * }</pre>
 *
 * <p>Outputs go to {@code outDir}: {@code train/validation/test} (or {@code fold-i}, or {@code data} without a
 * split) in the chosen format, {@code quarantine.jsonl} when any input line was bad, and {@code manifest.json}
 * (the {@link PipelineReport}). Every file is written under a temporary name and renamed when complete. An earlier
 * run's outputs that this run does not write (its splits, when this run has none) are removed once this run's are
 * complete, so the folder holds what its manifest lists; only files that still hold what that run wrote are
 * removed, and never one of this run's inputs (see {@link dev.finetune4j.data.format.Source#files()}).
 *
 * <p>Stateless steps run on all cores within a batch; the order of records and every result are the same as a
 * sequential run. A {@link Step.Global} step (near dedup) is a barrier: the records that reach it wait in a spool
 * file in the output folder until every input was read and the step has seen all their keys; then they go on
 * through the remaining steps. A pipeline object runs once.
 */
public final class Pipeline {
    /** The bad input lines' file in the output folder, when there are any. */
    static final String QUARANTINE_FILE = "quarantine.jsonl";

    /** The library name and version written into manifests. */
    public static final String LIBRARY = "finetune4j-data 0.2.0-SNAPSHOT";
    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

    private final Builder b;

    private Pipeline(Builder b) {
        this.b = b;
    }

    /**
     * A new builder.
     *
     * @return a builder without inputs, steps or output
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Configures a pipeline; {@link #read} and {@link #write} are required. The steps, split and seed
     * ({@link PipelineSteps}) are configured as for finetune4j-spark's {@code SparkPipeline}.
     */
    public static final class Builder extends PipelineSteps<Builder> {
        private Builder() {
        }

        private final List<Source> sources = new ArrayList<>();
        private Path outDir;
        private Format format = Format.JSONL;
        private int batchSize = 2048;
        private int parallelism = Runtime.getRuntime().availableProcessors();

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Adds an input; several inputs are read one after the other.
         *
         * @param source a file source ({@link dev.finetune4j.data.format.Formats}) or a mixture
         * @return this builder
         */
        public Builder read(Source source) {
            sources.add(source);
            return this;
        }

        /**
         * The output folder (created when missing).
         *
         * @param dir the folder the outputs, quarantine file and {@code manifest.json} go to
         * @return this builder
         */
        public Builder write(Path dir) {
            this.outDir = dir;
            return this;
        }

        /**
         * The output format (JSONL by default).
         *
         * @param f JSONL, JSON or CSV
         * @return this builder
         */
        public Builder format(Format f) {
            this.format = f;
            return this;
        }

        /**
         * Records per batch (2048 by default); memory use grows with it.
         *
         * @param n records per batch, at least 1
         * @return this builder
         */
        public Builder batchSize(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, found " + n);
            }
            this.batchSize = n;
            return this;
        }

        /**
         * Threads for stateless work (all processors by default); 1 runs everything on the caller's thread.
         *
         * @param n number of threads, at least 1
         * @return this builder
         */
        public Builder parallelism(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("parallelism must be >= 1, found " + n);
            }
            this.parallelism = n;
            return this;
        }

        /**
         * Runs the pipeline; see {@link Pipeline#run()}.
         *
         * @return the report, also written to {@code manifest.json}
         * @throws IOException when an input cannot be read or an output cannot be written
         */
        public PipelineReport run() throws IOException {
            if (sources.isEmpty()) {
                throw new IllegalStateException("no input: call read(Formats.jsonl(path)) before run()");
            }
            if (outDir == null) {
                throw new IllegalStateException("no output folder: call write(dir) before run()");
            }
            return new Pipeline(this).run();
        }
    }

    /**
     * Runs to completion.
     *
     * @return the report, also written as {@code manifest.json}
     * @throws IOException           when an input cannot be read or an output written; partial outputs are removed
     * @throws EmptyDatasetException when no record is left to write (only the quarantine file is written)
     */
    public PipelineReport run() throws IOException {
        long t0 = System.nanoTime();
        String startedAt = Instant.now().toString();
        Files.createDirectories(b.outDir);
        EarlierOutputs earlier = EarlierOutputs.read(b.outDir);
        List<String> warnings = new ArrayList<>();
        if (b.split != null) {
            warnings.addAll(b.split.warnings());
        }
        warnings.forEach(w -> LOG.warn("{}", w));
        List<StepCounter> counters = b.steps.stream().map(StepCounter::new).toList();
        List<InputReport> inputs = new ArrayList<>();
        Map<String, Long> badKinds = new TreeMap<>();
        List<WrittenFile> outputs;
        String quarantineFile;
        long quarantined;
        ForkJoinPool pool = b.parallelism > 1 ? new ForkJoinPool(b.parallelism) : null;
        Map<Integer, Barrier<?>> barriers = new TreeMap<>();
        try (QuarantineWriter quarantine = new QuarantineWriter(b.outDir.resolve(QUARANTINE_FILE));
             Outputs out = new Outputs(b.outDir, b.format, b.split)) {
            for (int s = 0; s < b.steps.size(); s++) {
                if (b.steps.get(s) instanceof Step.Global<?> g) {
                    barriers.put(s, Barrier.open(s, g, b.outDir));
                }
            }
            Flow flow = new Flow(counters, out, barriers, pool);
            for (Source source : b.sources) {
                inputs.add(readOne(source, quarantine, badKinds, flow));
            }
            for (Barrier<?> barrier : barriers.values()) {
                barrier.release(flow, b.batchSize);
            }
            if (out.records() == 0) {
                String kept = quarantine.commit();
                throw new EmptyDatasetException(nothingToWrite(inputs, counters, kept));
            }
            outputs = out.finish();
            quarantined = quarantine.count();
            quarantineFile = quarantine.commit();
        } finally {
            for (Barrier<?> barrier : barriers.values()) {
                barrier.close();
            }
            if (pool != null) {
                pool.close();
            }
        }
        if (quarantined > 0) {
            LOG.warn("{} bad input lines quarantined in {}: {}", quarantined, quarantineFile, badKinds);
        }
        List<StepReport> stepReports = counters.stream().map(StepCounter::report).toList();
        List<String> afterRun = new ArrayList<>(RunWarnings.of(stepReports, outputs, b.split != null));
        afterRun.addAll(earlier.removeAllBut(written(outputs, quarantineFile),
                b.sources.stream().flatMap(s -> s.files().stream()).toList()));
        afterRun.forEach(w -> LOG.warn("{}", w));
        warnings.addAll(afterRun);
        PipelineReport report = new PipelineReport(LIBRARY, startedAt, (System.nanoTime() - t0) / 1_000_000,
                b.seed, inputs, quarantineFile, quarantined, badKinds, stepReports,
                b.split == null ? null : b.split.params(), outputs, warnings);
        writeManifest(report);
        return report;
    }

    /** The names of the files this run writes: its outputs, its quarantine file if any, and the manifest. */
    private static Set<String> written(List<WrittenFile> outputs, String quarantineFile) {
        Set<String> names = new HashSet<>();
        outputs.forEach(f -> names.add(f.file()));
        if (quarantineFile != null) {
            names.add(quarantineFile);
        }
        names.add("manifest.json");
        return names;
    }

    private String nothingToWrite(List<InputReport> inputs, List<StepCounter> counters, String quarantineFile) {
        StringBuilder sb = new StringBuilder("no records to write: ");
        for (InputReport in : inputs) {
            sb.append(in.file()).append(" gave ").append(in.records()).append(" records and ")
                    .append(in.quarantined()).append(" bad lines; ");
        }
        for (StepCounter c : counters) {
            StepReport s = c.report();
            if (s.dropped() > 0) {
                sb.append("step '").append(s.name()).append("' dropped ").append(s.dropped()).append(' ')
                        .append(s.dropReasons()).append("; ");
            }
        }
        if (quarantineFile != null) {
            sb.append("the bad lines are in ").append(b.outDir.resolve(quarantineFile)).append("; ");
        }
        return sb.append("check that the input is not empty, its format and schema, and the steps' settings")
                .toString();
    }

    private InputReport readOne(Source source, QuarantineWriter quarantine, Map<String, Long> badKinds, Flow flow)
            throws IOException {
        long records = 0;
        long bad = 0;
        try (RecordStream in = source.open()) {
            List<Record> batch = new ArrayList<>(b.batchSize);
            for (Parsed p; (p = in.next()) != null; ) {
                switch (p) {
                    case Parsed.Ok ok -> {
                        records++;
                        batch.add(ok.record());
                        if (batch.size() == b.batchSize) {
                            flow.push(batch, 0);
                            batch = new ArrayList<>(b.batchSize);
                        }
                    }
                    case Parsed.Bad(BadLine line) -> {
                        bad++;
                        quarantine.write(line);
                        badKinds.merge(line.kind(), 1L, Long::sum);
                    }
                }
            }
            flow.push(batch, 0);
            return new InputReport(source.name(), in.sha256(), in.bytesRead(), records, bad);
        }
    }

    /** Moves batches of records through the steps, into the outputs or up to the next global step's barrier. */
    private final class Flow {
        private final List<StepCounter> counters;
        private final Outputs out;
        private final Map<Integer, Barrier<?>> barriers;
        private final ForkJoinPool pool;

        Flow(List<StepCounter> counters, Outputs out, Map<Integer, Barrier<?>> barriers, ForkJoinPool pool) {
            this.counters = counters;
            this.out = out;
            this.barriers = barriers;
            this.pool = pool;
        }

        /** Runs {@code batch} through the steps from index {@code from} on. */
        void push(List<Record> batch, int from) throws IOException {
            List<Record> current = batch;
            for (int s = from; s < b.steps.size() && !current.isEmpty(); s++) {
                Barrier<?> barrier = barriers.get(s);
                if (barrier != null) {
                    barrier.hold(current, pool);
                    return;
                }
                current = survivors(applyStep(b.steps.get(s), current, pool), s);
            }
            for (Record r : current) {
                out.write(r);
            }
        }

        /** Counts the outcomes of step {@code s} and returns the records they pass on, in order. */
        List<Record> survivors(Outcome[] outcomes, int s) {
            List<Record> next = new ArrayList<>(outcomes.length);
            for (Outcome o : outcomes) {
                counters.get(s).count(o);
                if (o.record() != null) {
                    next.add(o.record());
                }
                next.addAll(o.added());
            }
            return next;
        }
    }

    /**
     * Where records wait for a {@link Step.Global} step: their keys go to the step's pass and the records to a
     * spool file; once every input was read, {@link #release} decides about them in the same order and sends the
     * survivors on.
     */
    private static final class Barrier<K> implements java.io.Closeable {
        private final int index;
        private final Step.Global<K> step;
        private final Step.Global.Pass<K> pass;
        private final RecordSpool spool;

        private Barrier(int index, Step.Global<K> step, Step.Global.Pass<K> pass, RecordSpool spool) {
            this.index = index;
            this.step = step;
            this.pass = pass;
            this.spool = spool;
        }

        static <K> Barrier<K> open(int index, Step.Global<K> step, Path scratch) throws IOException {
            Step.Global.Pass<K> pass = step.begin(scratch);
            try {
                return new Barrier<>(index, step, pass, new RecordSpool(scratch));
            } catch (IOException | RuntimeException e) {
                pass.close();
                throw e;
            }
        }

        void hold(List<Record> records, ForkJoinPool pool) throws IOException {
            @SuppressWarnings("unchecked")
            K[] keys = (K[]) new Object[records.size()];
            parallel(records.size(), pool, i -> keys[i] = step.key(records.get(i)));
            for (int i = 0; i < keys.length; i++) {
                pass.observe(keys[i]);
                spool.write(records.get(i));
            }
        }

        void release(Pipeline.Flow flow, int batchSize) throws IOException {
            for (List<Record> batch; !(batch = spool.next(batchSize)).isEmpty(); ) {
                Outcome[] outcomes = new Outcome[batch.size()];
                for (int i = 0; i < outcomes.length; i++) {
                    outcomes[i] = pass.decide(batch.get(i));
                }
                flow.push(flow.survivors(outcomes, index), index + 1);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                pass.close();
            } finally {
                spool.close();
            }
        }
    }

    private static Outcome[] applyStep(Step step, List<Record> records, ForkJoinPool pool) {
        int n = records.size();
        Outcome[] outcomes = new Outcome[n];
        switch (step) {
            case Step.Stateless s -> parallel(n, pool, i -> outcomes[i] = s.apply(records.get(i)));
            case Step.Keyed<?> k -> decideInOrder(k, records, outcomes, pool);
            case Step.Global<?> g -> throw new IllegalStateException("global step '" + g.name() + "' reached"
                    + " without its barrier");
            default -> {
                for (int i = 0; i < n; i++) {
                    outcomes[i] = step.apply(records.get(i));
                }
            }
        }
        return outcomes;
    }

    private static <K> void decideInOrder(Step.Keyed<K> step, List<Record> records, Outcome[] outcomes,
                                          ForkJoinPool pool) {
        @SuppressWarnings("unchecked")
        K[] keys = (K[]) new Object[records.size()];
        parallel(records.size(), pool, i -> keys[i] = step.key(records.get(i)));
        for (int i = 0; i < keys.length; i++) {
            outcomes[i] = step.decide(records.get(i), keys[i]);
        }
    }

    private static void parallel(int n, ForkJoinPool pool, java.util.function.IntConsumer body) {
        if (pool == null || n < 64) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
        } else {
            pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
        }
    }

    private void writeManifest(PipelineReport report) throws IOException {
        Path target = b.outDir.resolve("manifest.json");
        Path temp = Files.createTempFile(b.outDir, ".manifest", ".part");
        try {
            Files.writeString(temp, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report),
                    StandardCharsets.UTF_8);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UncheckedIOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }
}
