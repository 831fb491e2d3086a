package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.eval.Bleu;
import dev.finetune4j.eval.Chrf;
import dev.finetune4j.eval.Perplexity;
import dev.finetune4j.eval.Rouge;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.PeftModel;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code finetune4j eval}: metrics over a predictions file, or over a model's answers to a data file. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Score predictions against references: BLEU (sacreBLEU), chrF++ and ROUGE-1/2/L (rouge-score).",
                "Either give --predictions (JSONL with 'prediction' and 'reference' fields), or --model and --data: "
                        + "the model (with --adapter, if any) answers every prompt greedily, and its perplexity over "
                        + "prompt + reference is reported too."},
        footer = {"", "Examples:",
                "  finetune4j eval --predictions preds.jsonl --bleu-tokenize zh --cjk",
                "  finetune4j eval --model models/Qwen2.5-0.5B --adapter runs/qa/adapter --data prepared/test.jsonl",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (files, fields, options)."})
final class EvalCommand implements Callable<Integer> {
    private static final String PREDICTIONS_FIELDS = "every line of a --predictions file needs 'prediction' and "
            + "'reference' text fields";
    private static final String DATA_FIELDS = "name the right fields with --prompt-field / --reference-field";

    @Spec
    CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    Source source;

    /** Exactly one of a predictions file and a model folder. */
    static final class Source {
        @Option(names = {"-p", "--predictions"}, paramLabel = "FILE", description = "JSONL with prediction and reference fields.")
        Path predictions;

        @Option(names = {"-m", "--model"}, paramLabel = "DIR", description = "Hugging Face model folder to generate with.")
        Path model;
    }

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto", converter = DeviceOption.Converter.class,
            description = "Where --model generates: " + DeviceOption.DESCRIPTION)
    DeviceOption device;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "auto", converter = PrecisionOption.Converter.class,
            description = "What --model computes in: " + PrecisionOption.DESCRIPTION)
    PrecisionOption precision;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder applied to --model.")
    Path adapter;

    @Option(names = {"-d", "--data"}, paramLabel = "FILE", description = "JSONL with prompts and references (with --model).")
    Path data;

    @Option(names = "--tokenizer", paramLabel = "DIR|byte-level", description = "Tokenizer (default: the model folder's).")
    String tokenizer;

    @Option(names = "--prompt-field", defaultValue = "instruction", description = "Prompt field of --data (default: ${DEFAULT-VALUE}).")
    String promptField;

    @Option(names = "--reference-field", defaultValue = "output",
            description = "Reference field of --data (default: ${DEFAULT-VALUE}); --predictions files use 'reference'.")
    String referenceField;

    @Option(names = "--prompt-template", defaultValue = "chat",
            description = "'chat' (the tokenizer's chat template) or text with {prompt} (default: ${DEFAULT-VALUE}).")
    String promptTemplate;

    @Option(names = "--max-new-tokens", defaultValue = "128", description = "Longest generated answer (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "8",
            description = "Prompts --model answers together (default: ${DEFAULT-VALUE}); each gets what it gets alone.")
    int batchSize;

    @Option(names = "--bleu-tokenize", defaultValue = "13a",
            description = "sacreBLEU tokenizer: 13a, intl, zh, char, none (default: ${DEFAULT-VALUE}).")
    String bleuTokenize;

    @Option(names = "--cjk", description = "Score ROUGE with the CJK tokenizer (Chinese characters as tokens).")
    boolean cjk;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Also write the report as JSON: model, metrics (and the predictions); 'finetune4j gate' compares two.")
    Path output;

    @Override
    public Integer call() throws IOException {
        List<String> predictions = new ArrayList<>();
        List<String> references = new ArrayList<>();
        Map<String, Object> result = new LinkedHashMap<>();
        Map<String, Object> metrics = new LinkedHashMap<>();
        if (batchSize < 1) {
            throw new BadInputException("--batch-size must be at least 1, got " + batchSize);
        }
        if (maxNewTokens < 0) {
            throw new BadInputException("--max-new-tokens must be 0 or more, got " + maxNewTokens);
        }
        // NOTE: the options are checked before a model answers for what may be hours
        Bleu bleu = bleu();
        if (output != null) {
            requireOutputFile();
        }
        // what the report evaluated, as 'finetune4j gate' names it
        result.put("model", (source.predictions != null ? source.predictions : adapter != null ? adapter : source.model).toString());
        if (source.predictions != null) {
            for (JsonObjectLines.Ok row : rows(source.predictions)) {
                predictions.add(field(row, "prediction", source.predictions, PREDICTIONS_FIELDS));
                references.add(field(row, "reference", source.predictions, PREDICTIONS_FIELDS));
            }
        } else {
            if (data == null) {
                throw new BadInputException("--model needs --data: the JSONL file with prompts and references");
            }
            metrics.put("perplexity", generate(device.resolve(), predictions, references));
            result.put("predictions", predictions);
        }
        metrics.putAll(metrics(bleu, predictions, references));
        print(metrics);
        if (output != null) {
            result.put("metrics", metrics);
            Files.createDirectories(output.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(output.toFile(), result);
        }
        return ExitCodes.OK;
    }

    private Bleu bleu() {
        try {
            return Bleu.builder().tokenize(bleuTokenize).build();
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--bleu-tokenize: " + e.getMessage(), e);
        }
    }

    /** --output names a file whose folder exists or can be made (it is made when the metrics are written). */
    private void requireOutputFile() {
        if (Files.isDirectory(output)) {
            throw new BadInputException("--output " + output.toAbsolutePath() + " is a folder; name the JSON file to "
                    + "write, e.g. " + output.resolve("metrics.json"));
        }
        OutputFolder.requireFresh(output.toAbsolutePath().getParent(), true);
    }

    private Map<String, Object> metrics(Bleu bleu, List<String> predictions, List<String> references) {
        Map<String, Object> m = new LinkedHashMap<>();
        var score = bleu.corpusScore(predictions, List.of(references));
        m.put("bleu", score.score());
        m.put("bleu_signature", score.signature());
        m.put("chrf++", Chrf.builder().wordOrder(2).build().corpusScore(predictions, List.of(references)).score());
        Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL").cjk(cjk).build()
                .corpusScore(predictions, List.of(references))
                .forEach((type, s) -> m.put(type, 100 * s.fmeasure()));
        return m;
    }

    /** Generates answers for --data on {@code target} into the lists and returns the perplexity over prompt + reference. */
    private double generate(Device target, List<String> predictions, List<String> references) throws IOException {
        List<String> questions = new ArrayList<>();
        for (JsonObjectLines.Ok row : rows(data)) { // read first: a bad row is reported before the model loads
            questions.add(field(row, promptField, data, DATA_FIELDS));
            references.add(field(row, referenceField, data, DATA_FIELDS));
        }
        Tokenizer tok = ModelInputs.loadTokenizer(tokenizer, source.model);
        List<long[]> docs = new ArrayList<>();
        Precision numbers = precision.on(target);
        // the adapter is read first: a QLoRA one's base is quantized to NF4 as it loads, as it was for training
        try (AdapterFiles files = adapter == null ? null : ModelInputs.readAdapter(adapter);
             LanguageModel base = ModelInputs.loadForInference(source.model, target, numbers,
                     files != null && files.trainedOnQuantizedBase());
             PeftModel tuned = files == null ? null : ModelInputs.loadAdapter(base, files);
             var inPrecision = numbers.use()) {
            ModelInputs.requireSameVocabulary(tok, base, source.model);
            GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(maxNewTokens)
                    .stopTokens(tok.eosTokenId().isPresent() ? Set.of(tok.eosTokenId().getAsLong()) : Set.of()).build();
            List<long[]> prompts = new ArrayList<>();
            for (int i = 0; i < questions.size(); i++) {
                long[] prompt = tok.encode(ModelInputs.renderPrompt(promptTemplate, tok, questions.get(i)));
                prompts.add(prompt);
                long[] ref = tok.encode(references.get(i));
                long[] doc = Arrays.copyOf(prompt, prompt.length + ref.length);
                System.arraycopy(ref, 0, doc, prompt.length, ref.length);
                docs.add(doc);
            }
            var model = tuned != null ? tuned : base; // a LogitsModel to generate with, a CausalLM to score
            PrintWriter err = spec.commandLine().getErr();
            AnswerProgress progress = new AnswerProgress(err, prompts.size(), System::nanoTime);
            for (int from = 0; from < prompts.size(); from += batchSize) {
                long[][] batch = prompts.subList(from, Math.min(prompts.size(), from + batchSize)).toArray(long[][]::new);
                long[][] outs = Generator.generate(model, batch, cfg);
                for (int i = 0; i < batch.length; i++) {
                    predictions.add(tok.decode(Arrays.copyOfRange(outs[i], batch[i].length, outs[i].length)).strip());
                }
                progress.answered(predictions.size());
            }
            err.println("scoring the perplexity of " + docs.size() + " prompts with their references");
            err.flush();
            return Perplexity.builder().build().compute(model, docs).perplexity();
        }
    }

    private static String field(JsonObjectLines.Ok row, String name, Path file, String advice) {
        if (!(row.object().get(name) instanceof String v)) {
            throw new BadInputException(file + " line " + row.line() + ": no string field '" + name + "' (fields: "
                    + List.copyOf(row.object().keySet()) + "); " + advice);
        }
        return v;
    }

    private static List<JsonObjectLines.Ok> rows(Path file) {
        List<JsonObjectLines.Ok> rows = JsonlFile.read(file, "fix or remove that line");
        if (rows.isEmpty()) {
            throw new BadInputException(file.toAbsolutePath() + " holds no records; give a JSONL file with one object a line");
        }
        return rows;
    }

    private void print(Map<String, Object> metrics) {
        var out = spec.commandLine().getOut();
        metrics.forEach((k, v) -> out.printf(v instanceof Double ? "%-16s %.4f%n" : "%-16s %s%n", k, v));
        out.flush();
    }
}
