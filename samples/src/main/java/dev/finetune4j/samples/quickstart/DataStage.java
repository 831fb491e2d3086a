package dev.finetune4j.samples.quickstart;

import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.data.split.SplitSpec;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Step 1: clean, redact, deduplicate and split the raw support export. Near-duplicates are found at Jaccard 0.85:
 * legitimate tickets share a canned answer and differ only in the question, which puts them near 0.6-0.7; edited
 * re-exports of one ticket lie above 0.9. The split is stratified by intent so that every intent is tested.
 */
final class DataStage {
    private DataStage() {
    }

    /** Runs the pipeline from {@code raw} into {@code outDir} and returns its report (also {@code manifest.json}). */
    static PipelineReport run(Path raw, Path outDir, long seed) throws IOException {
        return Pipeline.builder()
                .read(Formats.jsonl(raw).schema(Schema.ALPACA))
                .step(TextCleaner.defaults())
                .step(new QualityFilter(QualityConfig.defaults().withChars(8, 2_000)))
                .step(new PiiStep(PiiRedactor.defaults()))
                .step(new ExactDedup())
                .step(new NearDedup(NearDedupConfig.forThreshold(0.85, 128).withSeed(seed)))
                .split(SplitSpec.ratio(0.8, 0.1, 0.1).stratifyBy("label").seed(seed))
                .parallelism(1)
                .write(outDir)
                .run();
    }
}
