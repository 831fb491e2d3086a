package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.onnx.ExportFolder;
import dev.finetune4j.onnx.OnnxExportOptions;
import dev.finetune4j.onnx.OnnxExporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code finetune4j export-onnx}: writes a causal LM or an encoder classifier, an adapter merged into it if given, as
 * ONNX for ONNX Runtime.
 */
@Command(name = "export-onnx", mixinStandardHelpOptions = true,
        description = {"Export a causal LM (llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, gpt2) to ONNX: model.onnx (opset 17) and its "
                + "float32 weights in model.onnx.data, with input_ids, attention_mask, position_ids and "
                + "past_key_values.N.key/value in, logits and present.N.key/value out (the layout of ONNX Runtime "
                + "GenAI and Optimum).",
                "A classifier folder (bert, roberta, xlm-roberta, distilbert) exports as Optimum's text-classification "
                + "model: input_ids, attention_mask (and for bert token_type_ids) in, logits (batch, labels) out, with "
                + "config.json (its labels) and the folder's tokenizer files beside model.onnx.",
                "With --adapter, the adapter (LoRA, DoRA, IA3, freeze) is merged into the model first.",
                "With --weights int8 or int4, a causal LM's linear weights are stored as codes in blocks of --block-size "
                + "values along their input dimension with a float32 scale each, and model.onnx (opset 21) multiplies "
                + "by DequantizeLinear of them, in standard operators; ONNX Runtime's CPU optimizer fuses the int4 ones "
                + "into MatMulNBits."},
        footer = {"", "Example: finetune4j export-onnx --model models/Qwen2.5-0.5B --adapter runs/qa/adapter --out qa-onnx",
                "         finetune4j export-onnx -m models/Qwen2.5-0.5B --weights int4 --block-size 32 -o qwen-onnx-int4",
                "         finetune4j export-onnx -m models/roberta-base --adapter runs/intent/adapter "
                + "--labels billing,refund,other -o intent-onnx",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (missing folders, unsupported model, "
                + "adapter not mergeable, output folder not empty)."})
final class ExportOnnxCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR", description = "Model folder (Hugging Face).")
    Path model;

    @Option(names = {"-a", "--adapter"}, paramLabel = "DIR",
            description = "Adapter folder to merge before exporting (adapter_config.json + adapter_model.safetensors).")
    Path adapter;

    @Option(names = {"-o", "--out", "--output"}, required = true, paramLabel = "DIR",
            description = "Folder for model.onnx and model.onnx.data (--output, as in the other commands, works too).")
    Path out;

    @Option(names = "--labels", split = ",", paramLabel = "L1,L2,...",
            description = "For a classifier folder: the classes the adapter was trained with, when config.json does not "
                    + "name them (a head trained on a base model); default: its id2label. They go into the export's "
                    + "config.json.")
    List<String> labels;

    @Option(names = "--problem-type", paramLabel = "TYPE",
            description = "For a classifier folder: multi_label_classification (or single_label_classification, "
                    + "regression) when config.json does not say how the adapter was trained.")
    String problemType;

    @Option(names = "--weights", paramLabel = "FORMAT", defaultValue = "float32",
            description = "float32, int8 or int4: the format of a causal LM's linear weights (attention, MLP, experts, "
                    + "a separate lm_head; embeddings, norms and routers stay float32). Default: ${DEFAULT-VALUE}.")
    String weights;

    @Option(names = "--block-size", paramLabel = "N", defaultValue = "" + OnnxExportOptions.DEFAULT_BLOCK_SIZE,
            description = "With --weights int8 or int4: the values that share one scale along a weight's input "
                    + "dimension, a power of two of at least 16 (default: ${DEFAULT-VALUE}; 128 gives smaller files).")
    int blockSize;

    @Option(names = "--overwrite", description = "Replace the output folder even when it holds files already "
            + "(never the current directory, a folder above it, or one holding the model or adapter).")
    boolean overwrite;

    @Override
    public Integer call() {
        OutputFolder.requireFresh(out, overwrite);
        ModelInputs.requireModelFolder(model);
        OnnxExportOptions options = exportOptions();
        Path written;
        try {
            written = isEncoderClassifier(options) ? exportClassifier() : exportCausalLM(options);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot export " + model.toAbsolutePath() + " to ONNX: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().println("ONNX model written to " + written);
        return ExitCodes.OK;
    }

    /** --weights and --block-size as the exporter takes them; bad values are bad input. */
    private OnnxExportOptions exportOptions() {
        OnnxExportOptions options;
        try {
            options = new OnnxExportOptions(OnnxExportOptions.WeightFormat.parse(weights), blockSize);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--weights " + weights + " --block-size " + blockSize + ": " + e.getMessage(), e);
        }
        if (!options.quantized() && blockSize != OnnxExportOptions.DEFAULT_BLOCK_SIZE) {
            throw new BadInputException("--block-size " + blockSize + " applies to quantized weights: add --weights int8 "
                    + "or --weights int4, or remove --block-size");
        }
        return options;
    }

    /**
     * Whether the model folder holds an encoder classifier; --labels and --problem-type are refused for any other,
     * quantized --weights for a classifier.
     */
    private boolean isEncoderClassifier(OnnxExportOptions options) {
        boolean classifier = ClassifierInputs.isEncoderFolder(model);
        if (!classifier && (labels != null || problemType != null)) {
            throw new BadInputException("--labels and --problem-type are for classifier folders ("
                    + String.join(", ", EncoderConfig.MODEL_TYPES) + "); " + model.toAbsolutePath() + " holds a causal LM: "
                    + "remove them");
        }
        if (classifier && options.quantized()) {
            throw new BadInputException("--weights " + weights + " is for causal LMs; " + model.toAbsolutePath()
                    + " holds a classifier, which exports with float32 weights: remove --weights");
        }
        return classifier;
    }

    private Path exportCausalLM(OnnxExportOptions options) {
        try (LanguageModel lm = adapter == null ? ModelInputs.loadModel(model, Device.auto()) : ModelInputs.loadMerged(model, adapter)) {
            if (overwrite) {
                clearOutput();
            }
            return OnnxExporter.export(lm, out, options);
        }
    }

    /** The classifier, its adapter merged, with config.json and the model folder's tokenizer files beside the graph. */
    private Path exportClassifier() {
        if (adapter != null) {
            ModelInputs.readAdapter(adapter).close(); // a folder that is not an adapter is bad input, named as such
        }
        try (SequenceClassifierModule base = ClassifierInputs.loadEncoder(model, Device.auto(), labels, problemType)) {
            SequenceClassifier classifier = adapter == null ? base : ClassifierInputs.merged(base, adapter);
            if (overwrite) {
                clearOutput();
            }
            Path written = OnnxExporter.export(classifier, out, model);
            List<String> files = entries(out);
            spec.commandLine().getOut().println("labels " + classifier.classifierConfig().id2label() + "; files " + files
                    + (files.contains("tokenizer.json") ? "" : " (no tokenizer.json in " + model.toAbsolutePath()
                    + ": copy the tokenizer's files beside model.onnx)"));
            return written;
        }
    }

    private static List<String> entries(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes what {@code --overwrite} gave up, once the model has loaded: the output folder's files other than a
     * previous export, which the exporter then replaces atomically (the library itself never deletes foreign files).
     */
    private void clearOutput() {
        ExportFolder.requireNotProtected(out, Arrays.asList(model, adapter));
        if (!Files.isDirectory(out)) {
            return;
        }
        try {
            for (Path entry : ExportFolder.foreignEntries(out)) {
                AtomicDirectory.deleteTree(entry);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the output folder " + out.toAbsolutePath() + " for --overwrite: "
                    + e.getMessage() + "; check its permissions, or choose a new folder", e);
        }
    }
}
