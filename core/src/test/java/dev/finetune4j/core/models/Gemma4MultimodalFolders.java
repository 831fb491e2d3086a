package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny Gemma4ForConditionalGeneration folder made from references/gemma4_text: the same language-model weights
 * under {@code model.language_model.*}, a config.json whose text_config is the fixture's (its {@code pad_token_id}
 * left to Gemma4TextConfig's 0, which the class substitutes for multimodal tokens), and the tensors of a vision tower
 * of hidden size 8 and its embedder, of the shapes transformers 5.17 gives them, so that it loads the folder strictly.
 * On text Gemma4ForConditionalGeneration's logits are its language model's (transformers 5.17 gives the fixture's
 * masked logits exactly), so the folder's reference logits are references/gemma4_text's.
 */
public final class Gemma4MultimodalFolders {
    /** The text fixture whose weights and reference logits the folder reuses. */
    public static final String TEXT_FIXTURE = "references/gemma4_text";
    /** The vision tower's and embedder's tensors, by name, with their shapes. */
    public static final Map<String, int[]> VISION_TENSORS = visionTensors();

    private Gemma4MultimodalFolders() {
    }

    private static Map<String, int[]> visionTensors() {
        Map<String, int[]> v = new LinkedHashMap<>();
        String layer = "model.vision_tower.encoder.layers.0.";
        v.put("model.vision_tower.patch_embedder.input_proj.weight", new int[]{8, 12});
        v.put("model.vision_tower.patch_embedder.position_embedding_table", new int[]{2, 4, 8});
        for (String p : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
            v.put(layer + p + ".linear.weight", new int[]{8, 8});
        }
        for (String n : List.of("self_attn.q_norm", "self_attn.k_norm", "input_layernorm", "post_attention_layernorm",
                "pre_feedforward_layernorm", "post_feedforward_layernorm")) {
            v.put(layer + n + ".weight", new int[]{8});
        }
        v.put("model.embed_vision.embedding_projection.weight", new int[]{16, 8});
        return v;
    }

    /**
     * Writes the folder.
     *
     * @param dir the folder to create
     * @return {@code dir}
     * @throws IOException when writing fails
     */
    public static Path write(Path dir) throws IOException {
        List<String> files = List.of("config.json", "model.safetensors");
        Path text = ReferenceFolders.copy(TEXT_FIXTURE, files, Files.createTempDirectory("gemma4-text-fixture"));
        text.toFile().deleteOnExit();
        files.forEach(file -> text.resolve(file).toFile().deleteOnExit());
        ObjectMapper json = new ObjectMapper();
        ObjectNode textConfig = (ObjectNode) AutoModel.readConfig(text);
        textConfig.remove(List.of("architectures", "dtype", "pad_token_id"));
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add("Gemma4ForConditionalGeneration");
        c.put("model_type", "gemma4");
        c.set("text_config", textConfig);
        c.putObject("vision_config").put("model_type", "gemma4_vision").put("hidden_size", 8)
                .put("intermediate_size", 8).put("num_hidden_layers", 1).put("num_attention_heads", 1)
                .put("num_key_value_heads", 1).put("head_dim", 8).put("patch_size", 2)
                .put("position_embedding_size", 4).put("pooling_kernel_size", 1);
        c.putNull("audio_config");
        Files.createDirectories(dir);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), c);
        try (SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(text);
             TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : weights.names()) {
                tensors.put("model.language_model." + name.substring("model.".length()), weights.tensor(name));
            }
            int seed = 1;
            for (Map.Entry<String, int[]> e : VISION_TENSORS.entrySet()) {
                tensors.put(e.getKey(), Tensor.of(scope, Gemma3MultimodalFolders.values(e.getValue(), seed++),
                        e.getValue()));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        return dir;
    }
}
