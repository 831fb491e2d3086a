package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.gguf.GgufExporter;
import dev.finetune4j.gguf.GgufProgress;
import dev.finetune4j.gguf.GgufType;
import dev.finetune4j.gguf.ImportanceMatrix;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.train.TokenizedDataset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code finetune4j export-gguf}: writes a model, an adapter merged into it if given, as one GGUF for llama.cpp. */
@Command(name = "export-gguf", mixinStandardHelpOptions = true,
        description = {"Export a causal LM (llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, gpt2, and the mixtures "
                + "mixtral, qwen2_moe, qwen3_moe) with its tokenizer to one GGUF file, which "
                + "llama.cpp (llama-cli -m FILE), Ollama (a Modelfile with FROM ./FILE) and LM Studio load.",
                "A BERT, RoBERTa or XLM-RoBERTa classifier folder exports whole (f32, f16, bf16, q8_0) as llama.cpp's bert "
                + "architecture with its classification head (llama-embedding -m FILE -p TEXT prints each label's score).",
                "With --adapter, the adapter (LoRA, DoRA, IA3, freeze) is merged into the model first; with "
                + "--lora-only, a LoRA adapter is written alone as a llama.cpp adapter GGUF instead. Norms, biases "
                + "and other 1-D tensors stay float32 in every type."},
        footer = {"", "Example: finetune4j export-gguf --model models/Qwen2.5-0.5B --adapter runs/qa/adapter --out qa.gguf --type q4_k_m",
                "         finetune4j export-gguf --model models/Qwen2.5-0.5B --adapter runs/qa/adapter --lora-only --out qa-lora.gguf",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (missing folders, unsupported model or "
                + "tokenizer, adapter not mergeable, output folder missing)."})
final class ExportGgufCommand implements Callable<Integer> {
    private static final double GIB = 1L << 30;

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR",
            description = "Model folder (Hugging Face), with tokenizer.json.")
    Path model;

    @Option(names = {"-a", "--adapter"}, paramLabel = "DIR",
            description = "Adapter folder to merge before exporting (adapter_config.json + adapter_model.safetensors).")
    Path adapter;

    @Option(names = {"-o", "--out", "--output"}, required = true, paramLabel = "FILE",
            description = "The GGUF file to write (its folder must exist); an existing file is replaced.")
    Path out;

    @Option(names = {"-t", "--type"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "How weight matrices are stored: f32, f16 (default), bf16, q8_0 (8-bit blocks, about "
                    + "half of f16's size), or llama.cpp's K-quant mixes q4_k_m (about 30% of f16's size, the usual "
                    + "choice for Ollama), q5_k_m (36%), q6_k (41%), and q3_k_s, q3_k_m, q3_k_l (22-27%, best with "
                    + "--calibration), or its I-quant mixes iq4_xs (about 28%, smaller than q4_k_m at about its "
                    + "quality), iq4_nl (30%) and iq3_s (22%, best with --calibration), as llama-quantize writes them "
                    + "(models only, not --lora-only).")
    String type;

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "Text to collect an importance matrix over, as llama-imatrix does: a UTF-8 text file, cut "
                    + "into chunks, or a .jsonl file of SFT rows (instruction/output or conversations), each row laid "
                    + "out as `finetune4j train` lays it out (the chat template) and run as one sequence, so your "
                    + "training data serves as it is. The K-quant and I-quant types then fit their blocks to the "
                    + "inputs the model sees, as llama-quantize --imatrix does. Needs a K-quant or I-quant --type "
                    + "(q3_k_s ... q6_k, iq3_s, iq4_nl, iq4_xs).")
    Path calibration;

    @Option(names = "--calibration-tokens", paramLabel = "N",
            description = "Tokens per calibration chunk of a text file, and the most of a .jsonl row (default 512, "
                    + "llama-imatrix's context, or the model's positions when fewer).")
    Integer calibrationTokens;

    @Option(names = "--calibration-chunks", paramLabel = "N", defaultValue = "100",
            description = "At most this many chunks (or .jsonl rows) of the calibration data are run (default 100).")
    int calibrationChunks;

    @Option(names = "--imatrix", paramLabel = "FILE",
            description = "An importance matrix file to fit the K-quant blocks under instead of --calibration: one "
                    + "--save-imatrix wrote, or llama.cpp's llama-imatrix (GGUF or legacy .dat).")
    Path imatrix;

    @Option(names = "--save-imatrix", paramLabel = "FILE",
            description = "Also write the importance matrix of --calibration as llama.cpp's imatrix file (imatrix.gguf), "
                    + "for llama-quantize --imatrix and llama.cpp's other tools.")
    Path saveImatrix;

    @Option(names = "--labels", split = ",", paramLabel = "L1,L2,...",
            description = "For a classifier folder: the classes the adapter was trained with, when config.json does not "
                    + "name them (a head trained on a base model); default: its id2label. They go into the file as "
                    + "bert.classifier.output_labels.")
    List<String> labels;

    @Option(names = "--lora-only", description = "Write the LoRA adapter alone as a llama.cpp adapter GGUF "
            + "(llama-cli -m base.gguf --lora FILE; Ollama: ADAPTER ./FILE) instead of the merged model; needs --adapter.")
    boolean loraOnly;

    @Override
    public Integer call() {
        GgufType storage;
        try {
            storage = GgufType.named(type);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--type: " + e.getMessage(), e);
        }
        if (!Files.isRegularFile(model.resolve("tokenizer.json"))) {
            throw new BadInputException("no tokenizer.json in " + model.toAbsolutePath() + ": a GGUF file carries its "
                    + "tokenizer, so the model folder needs the one it was trained with");
        }
        if (ClassifierInputs.isEncoderFolder(model)) {
            return exportClassifier(storage);
        }
        if (labels != null) {
            throw new BadInputException("--labels is for classifier folders (" + String.join(", ",
                    EncoderConfig.MODEL_TYPES) + "); " + model.toAbsolutePath() + " holds a causal LM: remove it");
        }
        if (loraOnly) {
            if (calibration != null || imatrix != null || saveImatrix != null) {
                throw new BadInputException("--calibration, --imatrix and --save-imatrix shape K-quant models; an "
                        + "adapter GGUF takes no importance matrix");
            }
            return exportAdapter(storage);
        }
        String calibrationText = readCalibration(storage);
        Path written;
        try (LanguageModel lm = adapter == null ? ModelInputs.loadModel(model, Device.auto()) : ModelInputs.loadMerged(model, adapter);
             HfTokenizer tokenizer = HfTokenizer.load(model)) {
            ImportanceMatrix importance = imatrix != null ? ImportanceMatrix.load(imatrix)
                    : calibration == null ? null : importance(lm, tokenizer, calibrationText);
            if (saveImatrix != null) {
                Path saved = importance.save(saveImatrix, calibration.getFileName().toString());
                spec.commandLine().getOut().println("importance matrix over " + importance.tokens() + " tokens written "
                        + "to " + saved);
            }
            written = GgufExporter.export(lm, tokenizer, out, storage, importance, progress());
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot export " + model.toAbsolutePath() + " to GGUF: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().println("GGUF model (" + storage.name().toLowerCase(Locale.ROOT) + ") written to " + written);
        return ExitCodes.OK;
    }

    /**
     * The calibration text, checked before the model loads; null without {@code --calibration} and for a .jsonl
     * file, whose rows {@link TrainData} reads.
     */
    private String readCalibration(GgufType storage) {
        if (imatrix != null) {
            if (calibration != null || saveImatrix != null) {
                throw new BadInputException("--imatrix gives the importance matrix: leave out --calibration and "
                        + "--save-imatrix, which collect one");
            }
            if (!storage.isMix()) {
                throw new BadInputException("--imatrix shapes the K-quant and I-quant types only; add --type q4_k_m or "
                        + "iq4_xs (or another of q3_k_s ... q6_k, iq3_s, iq4_nl)");
            }
            if (!Files.isRegularFile(imatrix)) {
                throw new BadInputException("--imatrix: " + imatrix.toAbsolutePath() + " is not a file");
            }
            return null;
        }
        if (calibration == null) {
            if (saveImatrix != null) {
                throw new BadInputException("--save-imatrix writes the importance matrix of --calibration: give the "
                        + "calibration text too");
            }
            return null;
        }
        if (!storage.isMix()) {
            throw new BadInputException("--calibration shapes the K-quant and I-quant types only; add --type q4_k_m or "
                    + "iq4_xs (or another of q3_k_s ... q6_k, iq3_s, iq4_nl), or leave --calibration out for "
                    + storage.name().toLowerCase(Locale.ROOT));
        }
        if (calibrationTokens != null && calibrationTokens < 1 || calibrationChunks < 1) {
            throw new BadInputException("--calibration-tokens and --calibration-chunks must be at least 1, got "
                    + calibrationTokens + " and " + calibrationChunks);
        }
        if (isJsonl()) {
            if (!Files.isRegularFile(calibration)) {
                throw new BadInputException("--calibration: " + calibration.toAbsolutePath() + " is not a file");
            }
            return null;
        }
        try {
            return Files.readString(calibration);
        } catch (IOException | UncheckedIOException e) {
            throw new BadInputException("--calibration: cannot read " + calibration.toAbsolutePath() + " as UTF-8 text: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The importance matrix over the calibration data, with progress lines on standard error: a text file tokenized
     * whole and cut into chunks of {@code --calibration-tokens} (the last one shorter), or a .jsonl file's SFT rows as
     * training tokenizes them (cut at {@code --calibration-tokens}); at most {@code --calibration-chunks} of them.
     * {@code text} is the text file's content, null for a .jsonl file.
     */
    private ImportanceMatrix importance(LanguageModel lm, HfTokenizer tokenizer, String text) {
        if (calibrationTokens != null && calibrationTokens > lm.maxPositionEmbeddings()) {
            throw new BadInputException("--calibration-tokens " + calibrationTokens + " is more than the model's "
                    + lm.maxPositionEmbeddings() + " positions");
        }
        int chunkTokens = calibrationTokens != null ? calibrationTokens : Math.min(512, lm.maxPositionEmbeddings());
        List<long[]> chunks = new ArrayList<>();
        if (isJsonl()) {
            TokenizedDataset rows = new TrainData(tokenizer, ModelInputs.CHAT, chunkTokens,
                    spec.commandLine().getErr()).sft(calibration, null, null);
            rows.examples().stream().limit(calibrationChunks).forEach(row -> chunks.add(row.inputIds()));
        } else {
            long[] ids = tokenizer.encode(text);
            if (ids.length == 0) {
                throw new BadInputException("--calibration: " + calibration.toAbsolutePath() + " holds no text");
            }
            for (int at = 0; at < ids.length && chunks.size() < calibrationChunks; at += chunkTokens) {
                chunks.add(Arrays.copyOfRange(ids, at, Math.min(ids.length, at + chunkTokens)));
            }
        }
        WorkProgress lines = new WorkProgress(spec.commandLine().getErr(), (done, total) -> String.format(Locale.ROOT,
                "importance matrix: ran %d of %d calibration chunks", done, total), System::nanoTime);
        return ImportanceMatrix.collect(lm, chunks, lines::reached);
    }

    /** Whether the calibration data is a .jsonl file of SFT rows. */
    private boolean isJsonl() {
        return calibration.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jsonl");
    }

    /** Lines on standard error while the tensors are written: the first, then every 10 s, and the last. */
    private GgufProgress progress() {
        WorkProgress lines = new WorkProgress(spec.commandLine().getErr(), (done, total) -> String.format(Locale.ROOT,
                "wrote %.2f of %.2f GiB of tensors", done / GIB, total / GIB), System::nanoTime);
        return (tensors, totalTensors, bytes, totalBytes) -> lines.reached(bytes, totalBytes);
    }

    /**
     * A BERT, RoBERTa or XLM-RoBERTa classifier folder, its adapter merged if given, written whole as llama.cpp's bert
     * architecture with its classification head; the causal LMs' options are refused.
     */
    private Integer exportClassifier(GgufType storage) {
        if (loraOnly || calibration != null || imatrix != null || saveImatrix != null) {
            throw new BadInputException("--lora-only, --calibration, --imatrix and --save-imatrix are for causal LMs; "
                    + model.toAbsolutePath() + " holds a classifier, which exports whole as f32, f16, bf16 or q8_0");
        }
        if (adapter != null) {
            ModelInputs.readAdapter(adapter).close(); // a folder that is not an adapter is bad input, named as such
        }
        Path written;
        List<String> classes;
        try (SequenceClassifierModule base = ClassifierInputs.loadEncoder(model, Device.auto(), labels, null);
             HfTokenizer tokenizer = HfTokenizer.load(model)) {
            SequenceClassifier classifier = adapter == null ? base : ClassifierInputs.merged(base, adapter);
            if (!(classifier instanceof EncoderClassifier encoder)) {
                throw new BadInputException(model.toAbsolutePath() + " did not load as an encoder classifier but as "
                        + classifier.getClass().getSimpleName());
            }
            classes = encoder.classifierConfig().id2label();
            written = GgufExporter.export(encoder, tokenizer, out, storage, progress());
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot export " + model.toAbsolutePath() + " to GGUF: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().println("GGUF classifier (" + storage.name().toLowerCase(Locale.ROOT) + ", labels "
                + classes + ") written to " + written + "; llama.cpp scores a text with: llama-embedding -m " + written
                + " -p TEXT");
        return ExitCodes.OK;
    }

    /** {@code --lora-only}: the adapter on its base model, written as an adapter GGUF. */
    private Integer exportAdapter(GgufType storage) {
        if (adapter == null) {
            throw new BadInputException("--lora-only exports an adapter: give its folder with --adapter DIR");
        }
        Path written;
        try (AdapterFiles files = ModelInputs.readAdapter(adapter);
             LanguageModel base = ModelInputs.loadModel(model, Device.auto())) {
            PeftModel lora = ModelInputs.loadAdapter(base, files); // its weights live in the base model's scope
            written = GgufExporter.exportLora(lora, out, storage, progress());
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot export the adapter " + adapter.toAbsolutePath() + " to GGUF: "
                    + e.getMessage(), e);
        }
        spec.commandLine().getOut().println("GGUF LoRA adapter (" + storage.name().toLowerCase(Locale.ROOT)
                + ") written to " + written);
        return ExitCodes.OK;
    }
}
