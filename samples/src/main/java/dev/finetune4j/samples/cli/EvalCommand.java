package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.eval.Bleu;
import dev.finetune4j.eval.Chrf;
import dev.finetune4j.eval.Rouge;
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
import java.util.concurrent.Callable;

/** {@code finetune4j eval}: metrics over a predictions file, or over a model's answers to a data file. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Score predictions against references: BLEU (sacreBLEU), chrF++ and ROUGE-1/2/L (rouge-score).",
                "Either give --predictions (JSONL with 'prediction' and 'reference' fields), or --model and --data: "
                        + "the model (with --adapter, if any) answers every prompt greedily, and its perplexity over "
                        + "prompt + reference is reported too.",
                "With --tool-calls, score function calling instead: exact match, call-or-answer decision accuracy, "
                        + "function-name and argument precision/recall/F1 (each 0 to 1), invalid arguments. --predictions "
                        + "rows then hold 'prediction' and 'reference' assistant messages in OpenAI's shape; --data rows "
                        + "are conversations (OpenAI messages with optional tools, as train reads them) whose last message "
                        + "is the expected assistant turn, which the model writes after the turns before it.",
                "With --classification, score a classifier instead: accuracy, macro and weighted precision/recall/F1 "
                        + "and the per-class report (scikit-learn's definitions). --data rows are {\"text\": ..., "
                        + "\"label\": ...}, classified by --model (a classifier folder, with --adapter); --predictions "
                        + "rows hold 'prediction' and 'reference' labels. A multi-label classifier (--problem-type "
                        + "multi_label_classification, or its config.json's problem_type) reads rows {\"text\": ..., "
                        + "\"labels\": [...]}, predicts every class whose score is above 0, and reports subset accuracy "
                        + "and micro, macro and weighted precision/recall/F1 over the classes."},
        footer = {"", "Examples:",
                "  finetune4j eval --predictions preds.jsonl --bleu-tokenize zh --cjk",
                "  finetune4j eval --model models/Qwen2.5-0.5B --adapter runs/qa/adapter --data prepared/test.jsonl",
                "  finetune4j eval --tool-calls -m models/Qwen2.5-0.5B-Instruct --adapter runs/tools/adapter -d tools-test.jsonl",
                "  finetune4j eval --tool-calls --predictions server-answers.jsonl",
                "  finetune4j eval --classification -m models/Qwen2.5-0.5B --adapter runs/intent/adapter \\",
                "      --labels billing,refund,other -d tickets/test.jsonl -o runs/intent/eval.json",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (files, fields, options)."})
final class EvalCommand implements Callable<Integer> {
    private static final String PREDICTIONS_FIELDS = "every line of a --predictions file needs 'prediction' and "
            + "'reference' text fields";
    private static final String DATA_FIELDS = "name the right fields with --prompt-field / --reference-field";
    /** Options of the text metrics, which --tool-calls does not use. */
    private static final List<String> TEXT_OPTIONS = List.of("--prompt-field", "--reference-field", "--prompt-template",
            "--bleu-tokenize", "--cjk");

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

    @Option(names = {"-d", "--data"}, paramLabel = "FILE",
            description = "JSONL that --model answers: prompts and references, or with --tool-calls conversations.")
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

    @Option(names = "--tool-calls", description = "Score function calling (see above) instead of text metrics.")
    boolean toolCalls;

    @Option(names = "--tool-call-parser", paramLabel = "FORMAT", defaultValue = "auto",
            converter = ToolCallParserOption.Converter.class,
            description = ToolCallParserOption.DESCRIPTION + " With --tool-calls --model only.")
    ToolCallParserOption toolCallParser;

    @Option(names = "--classification", description = "Score a sequence classifier (see above) instead of text metrics.")
    boolean classification;

    @Option(names = "--labels", split = ",", paramLabel = "L1,L2,...",
            description = "With --classification --model: the classes the adapter was trained with, when the model's "
                    + "config.json does not name them (a head trained on a causal LM); default: its id2label.")
    List<String> labels;

    @Option(names = "--problem-type", paramLabel = "TYPE",
            description = "With --classification --model: multi_label_classification (or single_label_classification) "
                    + "when the model's config.json does not say how the adapter was trained; default: its problem_type.")
    String problemType;

    @Option(names = "--text-field", defaultValue = "text",
            description = "With --classification --model: the text field of --data (default: ${DEFAULT-VALUE}).")
    String textField;

    @Option(names = "--text-pair-field", defaultValue = "text_pair",
            description = "With --classification --model: the second text of a sentence pair in --data, encoded with "
                    + "the tokenizer's pair template; rows without it are single texts (default: ${DEFAULT-VALUE}).")
    String textPairField;

    @Option(names = "--max-length", defaultValue = "512",
            description = "With --classification --model: the most tokens of a text classified (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Also write the report as JSON: model, metrics (and the predictions); 'finetune4j gate' compares two.")
    Path output;

    @Override
    public Integer call() throws IOException {
        if (batchSize < 1) {
            throw new BadInputException("--batch-size must be at least 1, got " + batchSize);
        }
        if (maxNewTokens < 0) {
            throw new BadInputException("--max-new-tokens must be 0 or more, got " + maxNewTokens);
        }
        // NOTE: the options are checked before a model answers for what may be hours
        refuseOptionsOfTheOtherMode();
        Bleu bleu = toolCalls || classification ? null : bleu();
        toolCallParser.forced(); // a wrong name is bad input before any file is read
        if (output != null) {
            requireOutputFile();
        }
        if (source.model != null && data == null) {
            throw new BadInputException("--model needs --data: the JSONL file with "
                    + (toolCalls ? "conversations" : classification ? "{\"text\", \"label\"} (or \"labels\") rows" : "prompts and references"));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        // what the report evaluated, as 'finetune4j gate' names it
        result.put("model", (source.predictions != null ? source.predictions : adapter != null ? adapter : source.model).toString());
        result.putAll(classification ? classificationResult() : toolCalls ? toolCallResult() : textResult(bleu));
        print(result);
        if (classification) {
            spec.commandLine().getOut().print(ClassificationEval.table(result));
            spec.commandLine().getOut().flush();
        }
        if (output != null) {
            Files.createDirectories(output.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(output.toFile(), result);
        }
        return ExitCodes.OK;
    }

    /** Options given for the mode not chosen are refused rather than silently ignored. */
    private void refuseOptionsOfTheOtherMode() {
        var parsed = spec.commandLine().getParseResult();
        if (classification && toolCalls) {
            throw new BadInputException("--classification and --tool-calls are two modes; pass one of them");
        }
        List<String> classifierOnly = new ArrayList<>(List.of("--labels", "--problem-type", "--max-length"));
        if (classification) {
            classifierOnly.clear();
            classifierOnly.addAll(TEXT_OPTIONS);
            classifierOnly.addAll(List.of("--tool-call-parser", "--max-new-tokens", "--precision"));
            if (source.predictions != null) {
                classifierOnly.addAll(List.of("--labels", "--problem-type", "--max-length"));
            }
        }
        classifierOnly.removeIf(name -> !parsed.hasMatchedOption(name));
        if (!classifierOnly.isEmpty()) {
            throw new BadInputException((classification ? "--classification does not use " : "only --classification --model uses ")
                    + String.join(", ", classifierOnly) + "; remove " + (classifierOnly.size() == 1 ? "it" : "them")
                    + " (finetune4j eval --help says which options each mode takes)");
        }
        if (!toolCalls && parsed.hasMatchedOption("--tool-call-parser")) {
            throw new BadInputException("--tool-call-parser is for --tool-calls --model only; add --tool-calls or remove it");
        }
        List<String> misplaced = new ArrayList<>(toolCalls ? TEXT_OPTIONS : List.of());
        if (source.predictions != null) {
            misplaced.add("--tool-call-parser"); // the predictions hold their calls parsed already
        }
        misplaced.removeIf(name -> !parsed.hasMatchedOption(name));
        if (!misplaced.isEmpty()) {
            throw new BadInputException("--tool-calls" + (source.predictions != null ? " --predictions" : "")
                    + " does not use " + String.join(", ", misplaced) + "; remove " + (misplaced.size() == 1 ? "it" : "them")
                    + " (finetune4j eval --help says which options each mode takes)");
        }
    }

    /** BLEU, chrF++ and ROUGE of predictions against references, with the model's answers and perplexity. */
    private Map<String, Object> textResult(Bleu bleu) {
        List<String> predictions = new ArrayList<>();
        List<String> references = new ArrayList<>();
        Map<String, Object> result = new LinkedHashMap<>();
        Map<String, Object> metrics = new LinkedHashMap<>();
        if (source.predictions != null) {
            for (JsonObjectLines.Ok row : JsonlFile.readRecords(source.predictions, "fix or remove that line")) {
                predictions.add(field(row, "prediction", source.predictions, PREDICTIONS_FIELDS));
                references.add(field(row, "reference", source.predictions, PREDICTIONS_FIELDS));
            }
        } else {
            metrics.put("perplexity", generate(device.resolve(), predictions, references)); // a metric the gate judges too
            result.put("predictions", predictions);
        }
        metrics.putAll(metrics(bleu, predictions, references));
        result.put("metrics", metrics);
        return result;
    }

    /** Classification metrics of a predictions file, or of a classifier's predictions for --data. */
    private Map<String, Object> classificationResult() {
        if (source.predictions != null) {
            return ClassificationEval.ofPredictions(source.predictions);
        }
        if (maxLength < 1) {
            throw new BadInputException("--max-length must be at least 1, got " + maxLength);
        }
        Tokenizer tok = ModelInputs.loadTokenizer(tokenizer, source.model);
        return ClassificationEval.ofModel(source.model, adapter, data, labels, problemType,
                ClassifierInputs.Fields.of(textField, textPairField), tok, device.resolve(), batchSize, maxLength,
                spec.commandLine().getErr());
    }

    /** Function-calling metrics of a predictions file, or of the model's answers to held-out conversations. */
    private Map<String, Object> toolCallResult() {
        if (source.predictions != null) {
            return ToolCallEval.ofPredictions(ToolCallRows.predictions(source.predictions));
        }
        Device target = device.resolve();
        List<ToolCallRows.HeldOut> rows = ToolCallRows.conversations(data); // a bad row is reported before the model loads
        Tokenizer tok = ModelInputs.loadTokenizer(tokenizer, source.model);
        ToolCallFormat format = toolCallParser.resolve(tok.chatTemplate());
        List<long[]> prompts = ToolCallRows.prompts(rows, tok, data);
        try (EvalModel model = EvalModel.load(source.model, adapter, target, precision.on(target), tok)) {
            model.requireRoom(prompts, rows.stream().map(ToolCallRows.HeldOut::line).toList(), data);
            return ToolCallEval.ofAnswers(rows, model.answer(prompts, maxNewTokens, batchSize, spec.commandLine().getErr()),
                    format);
        }
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
    private double generate(Device target, List<String> predictions, List<String> references) {
        List<String> questions = new ArrayList<>();
        List<Long> lines = new ArrayList<>();
        // read first: a bad row is reported before the model loads
        for (JsonObjectLines.Ok row : JsonlFile.readRecords(data, "fix or remove that line")) {
            questions.add(field(row, promptField, data, DATA_FIELDS));
            references.add(field(row, referenceField, data, DATA_FIELDS));
            lines.add(row.line());
        }
        Tokenizer tok = ModelInputs.loadTokenizer(tokenizer, source.model);
        List<long[]> prompts = new ArrayList<>();
        List<long[]> docs = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            long[] prompt = ModelInputs.encodePrompt(promptTemplate, tok, questions.get(i));
            prompts.add(prompt);
            long[] ref = tok.encode(references.get(i));
            long[] doc = Arrays.copyOf(prompt, prompt.length + ref.length);
            System.arraycopy(ref, 0, doc, prompt.length, ref.length);
            docs.add(doc);
        }
        try (EvalModel model = EvalModel.load(source.model, adapter, target, precision.on(target), tok)) {
            model.requireRoom(prompts, lines, data);
            PrintWriter err = spec.commandLine().getErr();
            predictions.addAll(model.answer(prompts, maxNewTokens, batchSize, err));
            err.println("scoring the perplexity of " + docs.size() + " prompts with their references");
            err.flush();
            return model.perplexity(docs);
        }
    }

    private static String field(JsonObjectLines.Ok row, String name, Path file, String advice) {
        if (!(row.object().get(name) instanceof String v)) {
            throw new BadInputException(file + " line " + row.line() + ": no string field '" + name + "' (fields: "
                    + List.copyOf(row.object().keySet()) + "); " + advice);
        }
        return v;
    }

    /** The metrics, one a line. */
    private void print(Map<String, Object> result) {
        var out = spec.commandLine().getOut();
        ((Map<?, ?>) result.get("metrics"))
                .forEach((k, v) -> out.printf(v instanceof Double ? "%-24s %.4f%n" : "%-24s %s%n", k, v));
        out.flush();
    }
}
