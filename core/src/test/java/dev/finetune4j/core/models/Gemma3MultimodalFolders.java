package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny Gemma3ForConditionalGeneration folder made from references/gemma3_text: the same language-model weights
 * under the multimodal names, a config.json whose text_config leaves out what Gemma3TextConfig defaults to, and a
 * few vision-tower and projector tensors. Its logits are therefore references/gemma3_text's.
 */
public final class Gemma3MultimodalFolders {
    /** The text fixture whose weights and reference logits the folder reuses. */
    public static final String TEXT_FIXTURE = "references/gemma3_text";
    /** The vision tensors written, by transformers 5 name, with their shapes. */
    public static final Map<String, int[]> VISION_TENSORS = visionTensors();

    /** Which transformers release's names the weights carry. */
    public enum Names {
        /** {@code model.language_model.*}, {@code model.vision_tower.*}, {@code lm_head.weight}. */
        TRANSFORMERS_5,
        /** {@code language_model.model.*}, {@code vision_tower.*}, {@code language_model.lm_head.weight}. */
        TRANSFORMERS_4_5X
    }

    private static Path textCopy;

    private Gemma3MultimodalFolders() {
    }

    private static Map<String, int[]> visionTensors() {
        Map<String, int[]> v = new LinkedHashMap<>();
        v.put("model.vision_tower.vision_model.embeddings.patch_embedding.weight", new int[]{4, 3, 2, 2});
        v.put("model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", new int[]{4, 4});
        v.put("model.vision_tower.vision_model.post_layernorm.weight", new int[]{4});
        v.put("model.multi_modal_projector.mm_input_projection_weight", new int[]{4, 64});
        v.put("model.multi_modal_projector.mm_soft_emb_norm.weight", new int[]{4});
        return v;
    }

    /**
     * config.json of the folder: text_config is the fixture's gemma3_text config without the fields equal to
     * Gemma3TextConfig's defaults (norm epsilon, activation, biases, soft caps, tied embeddings, rotary bases) and
     * with its rotary scaling in the 4.5x form ({@code rope_scaling}), as the published configs have it.
     *
     * @return the config
     */
    public static ObjectNode config() {
        ObjectNode text;
        try {
            text = (ObjectNode) AutoModel.readConfig(textFixture());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        text.remove(List.of("architectures", "dtype", "rms_norm_eps", "hidden_activation", "attention_bias",
                "attention_dropout", "attn_logit_softcapping", "final_logit_softcapping", "tie_word_embeddings",
                "use_bidirectional_attention", "use_cache", "rope_parameters"));
        text.putObject("rope_scaling").put("factor", 8.0).put("rope_type", "linear");
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("Gemma3ForConditionalGeneration");
        c.put("model_type", "gemma3");
        c.put("boi_token_index", 250).put("eoi_token_index", 251).put("image_token_index", 252);
        c.put("mm_tokens_per_image", 4);
        c.putArray("eos_token_id").add(1);
        c.set("text_config", text);
        c.putObject("vision_config").put("model_type", "siglip_vision_model").put("hidden_size", 4)
                .put("intermediate_size", 8).put("num_hidden_layers", 1).put("num_attention_heads", 1)
                .put("image_size", 8).put("patch_size", 2);
        return c;
    }

    /**
     * Writes the folder.
     *
     * @param dir the folder to create
     * @param names the weights' naming
     * @return {@code dir}
     * @throws IOException when writing fails
     */
    public static Path write(Path dir, Names names) throws IOException {
        Files.createDirectories(dir);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config());
        try (SafetensorsCheckpoint text = SafetensorsCheckpoint.open(textFixture());
             TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : text.names()) {
                String rest = name.substring("model.".length());
                tensors.put((names == Names.TRANSFORMERS_5 ? "model.language_model." : "language_model.model.") + rest,
                        text.tensor(name));
            }
            int seed = 1;
            for (Map.Entry<String, int[]> e : VISION_TENSORS.entrySet()) {
                String name = names == Names.TRANSFORMERS_5 ? e.getKey() : e.getKey().substring("model.".length());
                tensors.put(name, Tensor.of(scope, values(e.getValue(), seed++), e.getValue()));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        return dir;
    }

    /**
     * The text fixture's config.json and model.safetensors in a folder: read from the class path by stream, since
     * other modules' tests find them inside core's test jar, where no file path reaches them.
     */
    private static synchronized Path textFixture() throws IOException {
        if (textCopy == null) {
            List<String> files = List.of("config.json", "model.safetensors");
            Path dir = ReferenceFolders.copy(TEXT_FIXTURE, files, Files.createTempDirectory("gemma3-text-fixture"));
            files.forEach(file -> dir.resolve(file).toFile().deleteOnExit());
            dir.toFile().deleteOnExit();
            textCopy = dir;
        }
        return textCopy;
    }

    /** Distinct values for a tensor of {@code shape}, so that a copy under another name is told apart. */
    static float[] values(int[] shape, int seed) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = seed + i / 1000f;
        }
        return v;
    }
}
