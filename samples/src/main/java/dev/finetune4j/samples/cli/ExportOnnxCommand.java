package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.onnx.ExportFolder;
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
import java.util.concurrent.Callable;

/** {@code finetune4j export-onnx}: writes a model, an adapter merged into it if given, as ONNX for ONNX Runtime. */
@Command(name = "export-onnx", mixinStandardHelpOptions = true,
        description = {"Export a causal LM (llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, gpt2) to ONNX: model.onnx (opset 17) and its "
                + "float32 weights in model.onnx.data, with input_ids, attention_mask, position_ids and "
                + "past_key_values.N.key/value in, logits and present.N.key/value out (the layout of ONNX Runtime "
                + "GenAI and Optimum).",
                "With --adapter, the adapter (LoRA, DoRA, IA3, freeze) is merged into the model first."},
        footer = {"", "Example: finetune4j export-onnx --model models/Qwen2.5-0.5B --adapter runs/qa/adapter --out qa-onnx",
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

    @Option(names = "--overwrite", description = "Replace the output folder even when it holds files already "
            + "(never the current directory, a folder above it, or one holding the model or adapter).")
    boolean overwrite;

    @Override
    public Integer call() {
        OutputFolder.requireFresh(out, overwrite);
        Path written;
        try (LanguageModel lm = adapter == null ? ModelInputs.loadModel(model, Device.auto()) : ModelInputs.loadMerged(model, adapter)) {
            if (overwrite) {
                clearOutput();
            }
            written = OnnxExporter.export(lm, out);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot export " + model.toAbsolutePath() + " to ONNX: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().println("ONNX model written to " + written);
        return ExitCodes.OK;
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
