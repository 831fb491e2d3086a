package dev.finetune4j.samples.cli;

import java.util.List;

/**
 * The {@code prepare} command's config file (YAML or JSON, snake_case keys). Paths are relative to the config
 * file's folder. Every section but {@code inputs} and {@code output} is optional; a missing section means the
 * step is off, except {@code clean} which is on unless set to {@code false}.
 *
 * <pre>
 * inputs: [raw.jsonl]            # JSONL, JSON or CSV, by extension; Parquet only on Spark (--spark-master)
 * schema: alpaca                 # text | alpaca | sharegpt | openai | preference (default: detected per record)
 * output: prepared               # folder for train/validation/test, quarantine.jsonl, manifest.json
 * format: jsonl                  # jsonl | json | csv
 * seed: 42
 * clean: true                    # HTML, NFKC, control characters, whitespace
 * quality: {min_chars: 8, max_chars: 20000}
 * pii: {strategy: placeholder, disable: [IP]}      # placeholder | mask | hash (key from hash_key_env)
 * exact_dedup: true
 * near_dedup: {threshold: 0.85, num_perm: 128}
 * split: {train: 0.8, validation: 0.1, test: 0.1, stratify_by: label}   # ratios left out share the rest
 * output_schema: openai          # convert kept records to this shape (default: each keeps its own)
 * </pre>
 */
record PrepareConfig(List<String> inputs, String schema, String output, String format, Long seed, Boolean clean,
                     Quality quality, Pii pii, Boolean exactDedup, NearDedup nearDedup, Split split,
                     String outputSchema) {

    /** Length filter in characters. */
    record Quality(Integer minChars, Integer maxChars) {
    }

    /** PII redaction: {@code strategy} placeholder, mask or hash; {@code disable} lists types to leave alone. */
    record Pii(String strategy, String hashKeyEnv, List<String> disable) {
    }

    /** MinHash near-duplicate removal. */
    record NearDedup(Double threshold, Integer numPerm) {
    }

    /** Train/validation/test ratios, optionally stratified by a label field or grouped by a key field. */
    record Split(Double train, Double validation, Double test, String stratifyBy, String groupBy) {
    }
}
