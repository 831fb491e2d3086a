package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code finetune4j merge}: folds an adapter into its base model and writes a Hugging Face folder. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Merge a PEFT adapter (LoRA, DoRA, IA3, freeze) into its base model and write a Hugging Face "
                + "folder (config.json + model.safetensors, tokenizer files copied) that serves without PEFT.",
                "Prefix, prompt and bottleneck adapters add computation that cannot be folded into weights: "
                        + "serve those as adapters."},
        footer = {"", "Example: finetune4j merge --base models/Qwen2.5-0.5B --adapter runs/qa/adapter --output merged",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (missing folders, adapter not mergeable)."})
final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-b", "--base"}, required = true, paramLabel = "DIR", description = "Base model folder (Hugging Face).")
    Path base;

    @Option(names = {"-a", "--adapter"}, required = true, paramLabel = "DIR",
            description = "Adapter folder (adapter_config.json + adapter_model.safetensors).")
    Path adapter;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Folder for the merged model.")
    Path output;

    @Option(names = "--overwrite", description = "Replace the output folder even when it holds files already "
            + "(never the current directory, a folder above it, or one holding the base model or adapter).")
    boolean overwrite;

    @Override
    public Integer call() throws IOException {
        OutputFolder.requireFresh(output, overwrite);
        Map<Path, String> kept = new LinkedHashMap<>();
        kept.put(base, "the base model's folder");
        kept.put(adapter, "the adapter's folder");
        try {
            // the merged folder replaces the output as a whole
            AtomicDirectory.requireReplaceable(output, "write the merged model to", kept);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        try (LanguageModel merged = ModelInputs.loadMerged(base, adapter)) {
            HfModelFolder.save(merged, output); // with the base folder's config.json and tokenizer files
        }
        spec.commandLine().getOut().println("merged model written to " + output.toAbsolutePath());
        return ExitCodes.OK;
    }
}
