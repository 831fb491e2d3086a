package dev.finetune4j.samples.cli;

import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.FileSource;
import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.pii.PiiType;
import dev.finetune4j.data.pii.Strategy;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineSteps;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.ConvertStep;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.data.split.SplitSpec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Turns a {@link PrepareConfig} into a {@link Plan} (and that into a data {@link Pipeline.Builder}), checking every
 * value on the way.
 */
final class PreparePipeline {
    private PreparePipeline() {
    }

    /**
     * The single-machine pipeline of a plan.
     *
     * @param plan the plan of a config ({@link #plan})
     */
    static Pipeline.Builder build(Plan plan) {
        List<Path> parquet = plan.inputs().stream().filter(i -> i instanceof Input.Parquet).map(Input::path).toList();
        if (!parquet.isEmpty()) {
            throw new BadInputException("'inputs' has Parquet files, which only the Spark engine reads: " + parquet
                    + "; run prepare with --spark-master local[4] (Spark 4.2 on the class path: "
                    + SparkPrepare.HOW_TO_LAUNCH + "), or convert them to JSONL");
        }
        Pipeline.Builder b = plan.configure(Pipeline.builder().write(plan.output()));
        plan.inputs().forEach(i -> b.read(((Input.Local) i).source()));
        if (plan.format() != null) {
            b.format(plan.format());
        }
        return b;
    }

    /**
     * What a config describes, whichever engine runs it.
     *
     * @param output the output folder
     * @param inputs the inputs, in order
     * @param format the output format, or {@code null} for JSONL
     * @param seed   the run's seed
     * @param steps  the steps, in order
     * @param split  the split, or {@code null}
     */
    record Plan(Path output, List<Input> inputs, Format format, long seed, List<Step> steps, SplitSpec split) {
        /**
         * Gives an engine's builder the plan's steps, split and seed.
         *
         * @param b   the single-machine or the Spark builder
         * @param <B> its type
         * @return {@code b}
         */
        <B extends PipelineSteps<B>> B configure(B b) {
            steps.forEach(b::step);
            if (split != null) {
                b.split(split);
            }
            return b.seed(seed);
        }
    }

    /** One file of {@code inputs}: one that finetune4j-data reads, or a Parquet file that only Spark reads. */
    sealed interface Input {
        /**
         * The file.
         *
         * @return its path
         */
        Path path();

        /**
         * A JSONL, JSON or CSV file, read by either engine.
         *
         * @param source the file, its format and the config's schema
         */
        record Local(FileSource source) implements Input {
            @Override
            public Path path() {
                return source.path();
            }
        }

        /**
         * A Parquet file (by its {@code .parquet} extension), read by the Spark engine only.
         *
         * @param path   the file
         * @param schema the config's schema, or {@code null} to detect it per row
         */
        record Parquet(Path path, Schema schema) implements Input {
        }
    }

    /**
     * The plan the config describes.
     *
     * @param cfg       the parsed config
     * @param baseDir   folder that relative paths are resolved against (the config file's)
     * @param outputDir the output folder, overriding the config's {@code output} when not null
     */
    static Plan plan(PrepareConfig cfg, Path baseDir, Path outputDir) {
        if (cfg.inputs() == null || cfg.inputs().isEmpty()) {
            throw new BadInputException("'inputs' is missing: list at least one JSONL, JSON or CSV file (or Parquet with"
                    + " --spark-master), e.g. inputs: [raw.jsonl]");
        }
        Path out = outputDir != null ? outputDir : cfg.output() != null ? baseDir.resolve(cfg.output()) : null;
        if (out == null) {
            throw new BadInputException("'output' is missing: name the folder for the prepared data, or pass --output");
        }
        Schema schema = cfg.schema() == null ? null : enumValue(Schema.class, cfg.schema(), "schema");
        List<Input> inputs = new ArrayList<>();
        for (String input : cfg.inputs()) {
            Path p = baseDir.resolve(input);
            InputFile.require(p, "input file", "fix its entry in 'inputs' (paths are relative to the config file)");
            inputs.add(input(p, schema));
        }
        Format format = cfg.format() == null ? null : enumValue(Format.class, cfg.format(), "format");
        long seed = cfg.seed() == null ? 42 : cfg.seed();
        List<Step> steps = new ArrayList<>();
        if (cfg.clean() == null || cfg.clean()) {
            steps.add(TextCleaner.defaults());
        }
        if (cfg.quality() != null) {
            steps.add(ConfigFiles.section("quality", PrepareConfig.Quality.class, () -> quality(cfg.quality())));
        }
        if (cfg.pii() != null) {
            steps.add(ConfigFiles.section("pii", PrepareConfig.Pii.class, () -> new PiiStep(redactor(cfg.pii()))));
        }
        if (Boolean.TRUE.equals(cfg.exactDedup())) {
            steps.add(new ExactDedup());
        }
        if (cfg.nearDedup() != null) {
            steps.add(ConfigFiles.section("near_dedup", PrepareConfig.NearDedup.class,
                    () -> nearDedup(cfg.nearDedup(), seed)));
        }
        if (cfg.outputSchema() != null) {
            steps.add(new ConvertStep(enumValue(Schema.class, cfg.outputSchema(), "output_schema")));
        }
        SplitSpec split = cfg.split() == null ? null
                : ConfigFiles.section("split", PrepareConfig.Split.class, () -> split(cfg.split(), seed));
        return new Plan(out, List.copyOf(inputs), format, seed, List.copyOf(steps), split);
    }

    private static Input input(Path file, Schema schema) {
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".parquet")) {
            return new Input.Parquet(file, schema);
        }
        FileSource source;
        try {
            source = Formats.of(file);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("input file " + file.toAbsolutePath() + " (from 'inputs'): " + e.getMessage(), e);
        }
        return new Input.Local(schema == null ? source : source.schema(schema));
    }

    private static QualityFilter quality(PrepareConfig.Quality section) {
        QualityConfig q = QualityConfig.defaults();
        return new QualityFilter(q.withChars(orDefault(section.minChars(), q.minChars()),
                orDefault(section.maxChars(), q.maxChars())));
    }

    private static NearDedup nearDedup(PrepareConfig.NearDedup section, long seed) {
        NearDedupConfig near = NearDedupConfig.forThreshold(orDefault(section.threshold(), 0.7),
                orDefault(section.numPerm(), 128));
        return new NearDedup(near.withSeed(seed));
    }

    private static PiiRedactor redactor(PrepareConfig.Pii pii) {
        PiiRedactor.Builder r = PiiRedactor.builder();
        String strategy = pii.strategy() == null ? "placeholder" : pii.strategy().toLowerCase(Locale.ROOT);
        switch (strategy) {
            case "placeholder" -> r.strategy(new Strategy.Placeholder());
            case "mask" -> r.strategy(new Strategy.Mask('*'));
            case "hash" -> {
                String env = pii.hashKeyEnv() == null ? "FINETUNE4J_PII_KEY" : pii.hashKeyEnv();
                String key = System.getenv(env);
                if (key == null || key.isEmpty()) {
                    throw new BadInputException("pii strategy 'hash' needs a secret key in the environment variable "
                            + env + " (set it, or name another variable with hash_key_env)");
                }
                try {
                    r.strategy(new Strategy.KeyedHash(key.getBytes(StandardCharsets.UTF_8)));
                } catch (IllegalArgumentException e) {
                    throw new BadInputException("invalid 'pii' settings: the key in the environment variable " + env
                            + " is refused: " + e.getMessage() + "; set a longer secret there (or name another "
                            + "variable with pii.hash_key_env)", e);
                }
            }
            default -> throw new BadInputException("'pii.strategy' is '" + pii.strategy()
                    + "'; use placeholder, mask or hash");
        }
        if (pii.disable() != null) {
            pii.disable().forEach(t -> r.disable(enumValue(PiiType.class, t, "pii.disable")));
        }
        return r.build();
    }

    private static SplitSpec split(PrepareConfig.Split s, long seed) {
        double[] r = ratios(s);
        SplitSpec spec = SplitSpec.ratio(r[0], r[1], r[2]).seed(seed);
        if (s.stratifyBy() != null) {
            spec = spec.stratifyBy(s.stratifyBy());
        }
        if (s.groupBy() != null) {
            spec = spec.groupBy(s.groupBy());
        }
        return spec;
    }

    /**
     * Train, validation and test ratios: those given as written; those left out share what the given ones leave of 1
     * as the defaults 0.8 / 0.1 / 0.1 would ({train: 0.9, test: 0.1} has no validation, {train: 0.7} 0.15 and 0.15).
     */
    private static double[] ratios(PrepareConfig.Split s) {
        Double[] given = {s.train(), s.validation(), s.test()};
        double[] defaults = {0.8, 0.1, 0.1};
        double rest = 1;
        double restOfDefaults = 0;
        for (int i = 0; i < 3; i++) {
            if (given[i] != null) {
                rest -= given[i];
            } else {
                restOfDefaults += defaults[i];
            }
        }
        double[] ratios = new double[3];
        for (int i = 0; i < 3; i++) {
            ratios[i] = given[i] != null ? given[i] : Math.max(0, rest) * defaults[i] / restOfDefaults;
        }
        return ratios;
    }

    /** Case-insensitive enum lookup with an error that lists the accepted names. */
    static <E extends Enum<E>> E enumValue(Class<E> type, String value, String key) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(value.replace('-', '_'))) {
                return e;
            }
        }
        throw new BadInputException("'" + key + "' is '" + value + "'; use one of "
                + Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList());
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }
}
