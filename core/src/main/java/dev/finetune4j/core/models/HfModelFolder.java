package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes a model as a Hugging Face folder that transformers, vLLM and this library load as they are:
 * {@code config.json}, {@code model.safetensors} and the tokenizer files. A merged adapter is saved the same way
 * ({@code HfModelFolder.save(peftModel.mergeAndUnload(), dir)}).
 *
 * <pre>{@code
 * HfModelFolder.save(model, Path.of("merged"));                       // a model loaded from a folder
 * HfModelFolder.save(model, configJson, Path.of("tokenizer-dir"), Path.of("out"));   // one built in memory
 * }</pre>
 *
 * <p>The language model of a Gemma 3 or Qwen3-VL vision-language checkpoint is saved as a whole
 * {@code Gemma3ForConditionalGeneration} or {@code Qwen3VLForConditionalGeneration} folder: its vision tower (and
 * Gemma 3's projector), which the model does not hold, are copied from the folder it was loaded from, under
 * transformers 5's names. The language model of a Qwen3.5 vision-language checkpoint is saved as the
 * {@code Qwen3_5ForCausalLM} it was loaded as (its text config, weights named {@code model.*}).
 *
 * <p>The folder is written under a temporary sibling name and renamed into place (an existing folder is
 * replaced), so a crash never leaves half a model under {@code dir}. Thread safety: stateless.
 */
public final class HfModelFolder {
    /** The tokenizer files of a Hugging Face model folder, copied when present. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model");

    private HfModelFolder() {
    }

    /**
     * Saves a model loaded with {@link AutoModel#loadCausalLM}: its weights, and the config.json and tokenizer
     * files of the folder it came from.
     *
     * @param model the model to save
     * @param dir the target folder, created or replaced
     * @throws IllegalArgumentException for a model built in memory (use the other overload)
     * @throws IOException when a file cannot be read or written
     */
    public static void save(LanguageModel model, Path dir) throws IOException {
        Path source = model.source().orElseThrow(() -> new IllegalArgumentException("this model was not loaded from a "
                + "folder, so its config.json is unknown: call save(model, configJson, tokenizerFolder, dir)"));
        save(model, AutoModel.readConfig(source), source, dir);
    }

    /**
     * Saves {@code model}'s weights under Hugging Face names with {@code config}, and the tokenizer files found
     * in {@code tokenizerFolder} (null: none).
     *
     * @param model the model to save
     * @param config the config.json content to write
     * @param tokenizerFolder the folder whose tokenizer files are copied, or null
     * @param dir the target folder, created or replaced; never the model's own folder (whose weights a bf16 model
     *            still reads, mapped), the tokenizer's, the current directory or one above them
     * @throws IllegalArgumentException when {@code dir} is such a folder, which replacing would delete; or when
     *                                  {@code config} and the model are not both of the same vision-language
     *                                  checkpoint saved whole (Gemma 3, Qwen3-VL) or both not, or such a model was not
     *                                  loaded from a folder (whose vision tower the saved folder needs)
     * @throws IOException when a file cannot be read or written
     */
    public static void save(LanguageModel model, JsonNode config, Path tokenizerFolder, Path dir) throws IOException {
        VisionLanguageCheckpoint whole = savedWhole(model, config);
        Path visionSource = whole == null ? null : visionSource(model, whole);
        Map<Path, String> kept = new LinkedHashMap<>();
        model.source().ifPresent(source -> kept.put(source, "the model's own folder"));
        if (tokenizerFolder != null) {
            kept.putIfAbsent(tokenizerFolder, "the tokenizer's folder");
        }
        AtomicDirectory.requireReplaceable(dir, "save the model to", kept);
        Path abs = dir.toAbsolutePath();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + abs.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(tmp);
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("config.json").toFile(),
                    withoutMxfp4(savedConfig(config)));
            writeWeights(model, whole, visionSource, tmp.resolve("model.safetensors"));
            if (tokenizerFolder != null) {
                for (String name : TOKENIZER_FILES) {
                    Path file = tokenizerFolder.resolve(name);
                    if (Files.isRegularFile(file)) {
                        Files.copy(file, tmp.resolve(name));
                    }
                }
            }
            AtomicDirectory.replace(tmp, abs, parent.resolve("." + abs.getFileName() + ".old-" + UUID.randomUUID()));
        } finally {
            AtomicDirectory.deleteTree(tmp);
        }
    }

    /**
     * {@code config} without a {@code quantization_config} of MXFP4 (gpt-oss's published folders): the weights are
     * written dequantized, so a config still claiming packed experts would send transformers looking for
     * {@code *_blocks} tensors that are not there.
     */
    private static JsonNode withoutMxfp4(JsonNode config) {
        if (!config.path("quantization_config").path("quant_method").asText("").equals("mxfp4")) {
            return config;
        }
        ObjectNode copy = config.deepCopy();
        copy.remove("quantization_config");
        return copy;
    }

    /** The config.json to write: a vision-language checkpoint's own or its text model's, as its row says. */
    private static JsonNode savedConfig(JsonNode config) {
        VisionLanguageCheckpoint visionLanguage = VisionLanguageCheckpoint.of(config);
        return visionLanguage == null ? config : visionLanguage.savedConfig(config);
    }

    /**
     * The vision-language checkpoint that {@code model} and {@code config} are saved as, whole (vision tower
     * included), or null when they are a text model; refuses a config that does not name the model's weights.
     */
    private static VisionLanguageCheckpoint savedWhole(LanguageModel model, JsonNode config) {
        VisionLanguageCheckpoint ofConfig = VisionLanguageCheckpoint.of(config);
        if (ofConfig != null && ofConfig.layout() == DecoderLayout.CAUSAL_LM) {
            ofConfig = null; // saved as its text model, which the model is
        }
        DecoderLayout layout = model instanceof DecoderModel d ? d.layout() : DecoderLayout.CAUSAL_LM;
        VisionLanguageCheckpoint ofModel = layout == DecoderLayout.CAUSAL_LM ? null : VisionLanguageCheckpoint.of(layout);
        if (ofConfig != null && ofConfig != ofModel) {
            throw new IllegalArgumentException("config.json is a " + ofConfig.architecture() + " config (model_type "
                    + ofConfig.modelType() + "), but the model is a " + model.spec().modelType() + " model whose "
                    + "weights are not named as that class's: save it with its own config.json");
        }
        if (ofModel != null && ofConfig == null) {
            throw new IllegalArgumentException("the model is the language model of a " + ofModel.architecture()
                    + " (weights named model.language_model.*), which a config.json of model_type '"
                    + config.path("model_type").asText("") + "' would not load: save it with the "
                    + ofModel.modelType() + " config.json of the folder it was loaded from (HfModelFolder.save(model, dir))");
        }
        return ofModel;
    }

    /** The folder whose vision tower goes with {@code model} into the whole checkpoint's folder. */
    private static Path visionSource(LanguageModel model, VisionLanguageCheckpoint whole) {
        return model.source().orElseThrow(() -> new IllegalArgumentException("a " + whole.architecture()
                + " folder needs the " + whole.leftOutParts() + ", which this model does not hold and copies from the "
                + "folder it was loaded from, but it was built in memory: load it with AutoModel.loadCausalLM(folder) "
                + "from the checkpoint whose vision tower it goes with"));
    }

    /**
     * The model's weights, and the parts of {@code visionSource}'s checkpoint that {@code whole} leaves out, under
     * their current names (none when {@code whole} is null).
     */
    private static void writeWeights(LanguageModel model, VisionLanguageCheckpoint whole, Path visionSource, Path file)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>(model.stateDict());
        if (whole == null) {
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
            return;
        }
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(visionSource)) {
            for (String name : ckpt.names()) {
                if (whole.isLeftOut(name)) {
                    tensors.put(whole.layout().currentName(name), ckpt.tensor(name));
                }
            }
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
    }
}
