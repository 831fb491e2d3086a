package dev.finetune4j.samples.cli;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftModel;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the commands share: loading a model folder (with an adapter, or one merged into it) and its tokenizer, and
 * laying out prompts.
 */
final class ModelInputs {
    /** The tokenizer name for the built-in byte-level tokenizer. */
    static final String BYTE_LEVEL = "byte-level";
    /** The prompt template name for the tokenizer's chat template. */
    static final String CHAT = "chat";

    private ModelInputs() {
    }

    /** A Hugging Face model folder on {@code device}, checked first so the error says what is missing. */
    static LanguageModel loadModel(Path dir, Device device) {
        return loadModel(dir, device, null, false);
    }

    /**
     * A model folder on {@code device} as a training run's base: with {@code nf4Base} (QLoRA) its linear weights are
     * quantized to NF4 as each is read, so the full-precision model never exists in memory at once.
     */
    static LanguageModel loadForTraining(Path dir, Device device, boolean nf4Base) {
        return loadModel(dir, device, null, nf4Base);
    }

    /**
     * A model folder on {@code device} for inference in {@code precision}: under BF16_MIXED its weights are kept in
     * bf16 (a float32 checkpoint's rounded once, as every product would round them), else in the checkpoint's dtypes.
     * With {@code nf4Base} (under a QLoRA adapter) the linear weights are quantized to NF4 from the checkpoint's values
     * as they are read, as training quantized them, and the full-precision model never exists in memory at once.
     */
    static LanguageModel loadForInference(Path dir, Device device, Precision precision, boolean nf4Base) {
        return loadModel(dir, device, precision == Precision.BF16_MIXED ? DType.BF16 : null, nf4Base);
    }

    private static LanguageModel loadModel(Path dir, Device device, DType dtype, boolean nf4Base) {
        requireModelFolder(dir);
        try {
            LoadOptions.Builder options = LoadOptions.builder().device(device)
                    .quantization(nf4Base ? Quantization.NF4 : Quantization.NONE);
            return AutoModel.loadCausalLM(dir, (dtype == null ? options : options.dtype(dtype)).build());
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("cannot load the model in " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /** Refuses a path that is not a Hugging Face model folder, saying what it is instead. */
    static void requireModelFolder(Path dir) {
        String found = !Files.exists(dir) ? " does not exist" : !Files.isDirectory(dir) ? " is a file, not a folder"
                : Files.isRegularFile(dir.resolve("config.json")) ? null : " has no config.json";
        if (found != null) {
            throw new BadInputException("model folder " + dir.toAbsolutePath() + found + ": point at a local Hugging "
                    + "Face folder (config.json + model.safetensors), e.g. a downloaded Qwen2.5-0.5B");
        }
    }

    /**
     * Refuses a tokenizer with more tokens than the model has embeddings: it belongs to another model, and its ids
     * would fail deep inside training or generation. (Fewer is usual: Qwen2.5 pads its embeddings.)
     */
    static void requireSameVocabulary(Tokenizer tok, LanguageModel model, Path modelDir) {
        if (tok.vocabSize() > model.vocabSize()) {
            throw new BadInputException("the tokenizer has " + tok.vocabSize() + " tokens, but the model in "
                    + modelDir.toAbsolutePath() + " has " + model.vocabSize() + " (vocab_size in config.json): they "
                    + "belong to different models; use the tokenizer.json saved with this model");
        }
    }

    /**
     * An adapter folder, read before its base model loads: whether it was trained with QLoRA decides how the base
     * loads ({@link #loadForInference}). A folder that is not an adapter is bad input.
     */
    static AdapterFiles readAdapter(Path dir) {
        return readAdapter(dir, "--adapter");
    }

    /** {@link #readAdapter(Path)}, the error naming the option that gave the folder ({@code --adapter NAME=DIR}). */
    static AdapterFiles readAdapter(Path dir, String option) {
        if (!Files.isRegularFile(dir.resolve("adapter_config.json"))) {
            throw new BadInputException("no adapter_config.json in " + dir.toAbsolutePath() + " (" + option
                    + "): point it at a folder saved by 'finetune4j train' or Python PEFT");
        }
        try {
            return AdapterFiles.read(dir);
        } catch (PeftException | IllegalArgumentException | UncheckedIOException e) {
            throw cannotLoad(dir, e);
        }
    }

    /** The read adapter on {@code base}, for inference; an adapter that does not fit the base is bad input. */
    static PeftModel loadAdapter(LanguageModel base, AdapterFiles files) {
        try {
            return Peft.load(base, files);
        } catch (PeftException | IllegalArgumentException | UncheckedIOException e) {
            throw cannotLoad(files.dir(), e);
        }
    }

    private static BadInputException cannotLoad(Path adapterDir, RuntimeException e) {
        return new BadInputException("cannot load the adapter in " + adapterDir.toAbsolutePath() + ": " + e.getMessage(), e);
    }

    /**
     * The model in {@code baseDir} with the adapter in {@code adapterDir} merged into its weights (a QLoRA adapter
     * too: into the full-precision base); an adapter that cannot be merged (prefix, prompt, bottleneck) is bad input,
     * and the model is closed on any failure.
     */
    static LanguageModel loadMerged(Path baseDir, Path adapterDir) {
        try (AdapterFiles files = readAdapter(adapterDir)) {
            LanguageModel model = loadModel(baseDir, Device.auto());
            try {
                return loadAdapter(model, files).mergeAndUnload();
            } catch (UnsupportedOperationException | IllegalStateException e) {
                model.close();
                throw new BadInputException("this adapter cannot be merged: " + e.getMessage(), e);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
    }

    /**
     * {@code byte-level}, a folder with tokenizer.json, or (null) the model folder's tokenizer.json; that folder is
     * checked as a model folder first, so that a wrong model path is named as such rather than as a missing tokenizer.
     */
    static Tokenizer loadTokenizer(String spec, Path modelDir) {
        if (BYTE_LEVEL.equals(spec)) {
            return new ByteLevelTokenizer();
        }
        if (spec == null) {
            requireModelFolder(modelDir);
        }
        Path dir = spec == null ? modelDir : Path.of(spec);
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new BadInputException("no tokenizer.json in " + dir.toAbsolutePath() + "; copy the model's tokenizer "
                    + "files there, name a folder that has them, or use byte-level for the quickstart's model (train.yaml: "
                    + "tokenizer: byte-level; eval: --tokenizer byte-level)");
        }
        return HfTokenizer.load(dir);
    }

    /**
     * The token ids of a user message's prompt, as TRL's trainers and transformers' pipelines tokenize it: the chat
     * template's render writes its own special tokens; a plain template's text gets the tokenizer's (Llama's BOS),
     * since a Llama-family model has only ever seen text after a BOS.
     */
    static long[] encodePrompt(String template, Tokenizer tok, String prompt) {
        String text = renderPrompt(template, tok, prompt);
        return template == null || CHAT.equals(template) ? tok.encode(text) : tok.encodeWithSpecialTokens(text);
    }

    /**
     * The prompt text for a user message: {@code chat} renders the tokenizer's chat template with the generation
     * prompt; any other template must contain {@code {prompt}} (for example {@code "Q: {prompt}\nA: "}).
     */
    private static String renderPrompt(String template, Tokenizer tok, String prompt) {
        if (template == null || CHAT.equals(template)) {
            return tok.chatTemplate().render(List.of(ChatMessage.user(prompt)), true);
        }
        if (!template.contains("{prompt}")) {
            throw new BadInputException("prompt template '" + template + "' has no {prompt} placeholder; use 'chat' "
                    + "or a text such as \"Q: {prompt}\\nA: \"");
        }
        return template.replace("{prompt}", prompt);
    }
}
