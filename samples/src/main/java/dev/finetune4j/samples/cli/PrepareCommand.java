package dev.finetune4j.samples.cli;

import dev.finetune4j.data.pipeline.EmptyDatasetException;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.data.split.MissingSplitFieldException;
import dev.finetune4j.data.format.WrittenFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code finetune4j prepare}: runs a data pipeline described by a YAML or JSON file. */
@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = {"Clean, redact, deduplicate and split training data as a config file describes.",
                "Writes train/validation/test files, quarantine.jsonl (bad input lines) and manifest.json "
                        + "(provenance: hashes, every step with its counts) into the output folder, which must be new "
                        + "or empty unless --overwrite is given."},
        footer = {"", "Config example (prepare.yaml; paths relative to the file):",
                "  inputs: [raw.jsonl]       # JSONL, JSON, CSV; Parquet (.parquet) only with --spark-master",
                "  schema: alpaca            # text | alpaca | sharegpt | openai | preference",
                "  output: prepared",
                "  seed: 42",
                "  clean: true",
                "  quality: {min_chars: 8, max_chars: 20000}",
                "  pii: {strategy: placeholder}  # placeholder | mask | hash (key in $FINETUNE4J_PII_KEY)",
                "  exact_dedup: true",
                "  near_dedup: {threshold: 0.85, num_perm: 128}",
                "  split: {train: 0.8, validation: 0.1, test: 0.1, stratify_by: label}   # ratios left out share the rest",
                "  output_schema: openai     # convert kept records (e.g. ShareGPT tool turns to OpenAI messages)",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (config, paths, options)."})
final class PrepareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "Pipeline config, .yaml/.yml or .json.")
    Path config;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR",
            description = "Output folder; overrides the config's 'output'.")
    Path output;

    @Option(names = "--overwrite", description = {"Write into a folder that is not empty, such as an earlier run's. "
            + "Without --spark-master, the earlier run's outputs (as its manifest.json lists them) that this run does "
            + "not write, e.g. train/validation/test when this run has no split, are removed unless changed since; "
            + "other files stay."})
    boolean overwrite;

    @Option(names = "--spark-master", paramLabel = "URL",
            description = {"Run on Apache Spark with this master (local[4], yarn, spark://host:7077...): the same "
                    + "records and counts; outputs become folders of part files; Parquet inputs are read. Needs "
                    + "Spark 4.2 on the class path (spark-submit, or java -cp finetune4j.jar:$SPARK_HOME/jars/*)."})
    String sparkMaster;

    @Override
    public Integer call() throws IOException {
        PrepareConfig cfg = ConfigFiles.read(config, PrepareConfig.class);
        PreparePipeline.Plan plan = PreparePipeline.plan(cfg, config.toAbsolutePath().getParent(), output);
        OutputFolder.requireFresh(plan.output(), overwrite);
        PipelineReport report;
        try {
            if (sparkMaster == null) {
                report = PreparePipeline.build(plan).run();
            } else if (!SparkPrepare.available()) {
                throw new BadInputException("--spark-master needs Apache Spark 4.2 (Scala 2.13) on the class path, which"
                        + " finetune4j.jar does not include: run it with " + SparkPrepare.HOW_TO_LAUNCH);
            } else {
                report = SparkPrepare.run(plan, sparkMaster);
            }
        } catch (EmptyDatasetException e) {
            // the inputs (empty, or every line bad) or the steps' settings left nothing to write
            throw new BadInputException(e.getMessage(), e);
        } catch (MissingSplitFieldException e) {
            String key = e.field().equals(cfg.split().stratifyBy()) ? "stratify_by" : "group_by";
            throw new BadInputException("'split." + key + "' is '" + e.field() + "', but " + e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        for (StepReport s : report.steps()) {
            out.printf("%-12s in %6d  kept %6d  changed %6d  dropped %6d %s%n", s.name(), s.in(), s.kept(), s.changed(),
                    s.dropped(), s.dropReasons().isEmpty() ? "" : s.dropReasons());
        }
        for (WrittenFile f : report.outputs()) {
            out.printf("wrote %-18s %6d records%n", f.file(), f.records());
        }
        if (report.quarantined() > 0) {
            out.printf("quarantined %d bad lines in %s: %s%n", report.quarantined(), report.quarantineFile(),
                    report.quarantinedByKind());
        }
        out.flush();
        return ExitCodes.OK;
    }
}
