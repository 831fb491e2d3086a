package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sizes in config.json are claims: out-of-range, inexact or inconsistent ones are refused with the field named,
 * before any memory is reserved (a million layers used to grow the process to 17.7 GB of native memory).
 */
class HostileConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "num_hidden_layers | 1000000",
            "hidden_size       | 1000000000",
            "vocab_size        | 1000000000",
            "vocab_size        | 4294967552",      // 2^32 + 256: asInt() read it as 256, the real vocabulary
            "intermediate_size | 128.5",
            "num_hidden_layers | 2.5",
            "num_attention_heads | -4",
            "max_position_embeddings | 1e30"})
    void outOfRangeOrInexactSizesAreRefusedNamingTheField(String field, String value, @TempDir Path tmp) throws Exception {
        Path dir = copyOfLlama(tmp);
        editConfig(dir, field, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains("must be an integer"), e.getMessage());
    }

    @Test
    void sizesBeyondWhatTheWeightsHoldAreRefusedBeforeAllocating(@TempDir Path tmp) throws Exception {
        Path dir = copyOfLlama(tmp);
        editConfig(dir, "num_hidden_layers", "1000"); // within the sane limit, but the file holds 2 layers
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("safetensors files hold"), e.getMessage());
    }

    @Test
    void hiddenSizeNotDivisibleByTheHeadsIsReportedAsSuchWithoutHeadDim(@TempDir Path tmp) throws Exception {
        Path dir = copyOfLlama(tmp);
        editConfig(dir, "head_dim", "null");
        editConfig(dir, "num_attention_heads", "3");
        editConfig(dir, "num_key_value_heads", "3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("hidden_size 64 is not divisible by num_attention_heads 3"), e.getMessage());
    }

    @Test
    void aTensorMissingFromTheCheckpointIsNamed(@TempDir Path tmp) throws Exception {
        Path dir = copyOfLlama(tmp);
        rewriteWeights(dir, (name, tensor, copies) -> name.equals("model.layers.1.mlp.down_proj.weight") ? null : tensor);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("lack 1 weight: [model.layers.1.mlp.down_proj.weight]"), e.getMessage());
    }

    /**
     * xIELU's beta and eps are buffers finetune4j computes with as constants: a checkpoint holding other values is
     * refused, naming the tensor, not run with the wrong ones.
     */
    @Test
    void anXieluBufferWithAnotherValueIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/apertus", tmp);
        rewriteWeights(dir, (name, tensor, copies) -> name.equals("model.layers.2.mlp.act_fn.beta")
                ? Tensor.of(copies, new float[]{0.7f}) : tensor);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("'model.layers.2.mlp.act_fn.beta' holds [0.7]"), e.getMessage());
    }

    /**
     * Ministral 3 multiplies its queries by a temperature whose two settings live in rope_parameters; transformers
     * fails without either, so a config lacking one is refused naming it, not run without the temperature.
     */
    @Test
    void ministral3WithoutItsTemperatureSettingsIsRefusedNamingTheMissingOne(@TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/ministral3", tmp);
        editConfig(dir, "rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": 10000.0, "
                + "\"original_max_position_embeddings\": 4}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("config.json rope_parameters lacks 'llama_4_scaling_beta'")
                && e.getMessage().contains("Ministral3Attention"), e.getMessage());
    }

    /**
     * Mistral 4's fused experts are stored as transformers holds them, (E, 2I, hidden); a file holding them in
     * Qwen3-VL-MoE's orientation, (E, hidden, 2I), is refused naming the tensor, not transposed or misread.
     */
    @Test
    void mistral4ExpertsInTheOtherOrientationAreRefused(@TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/mistral4", tmp);
        String gateUp = "model.layers.1.mlp.experts.gate_up_proj";
        Map<String, Tensor> kept = new LinkedHashMap<>();
        try (TensorScope copies = TensorScope.open()) {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
                for (String name : ckpt.names()) {
                    Tensor t = ckpt.tensor(name).convertTo(DType.F32, copies);
                    kept.put(name, name.equals(gateUp) ? t.permute(0, 2, 1).contiguous() : t);
                }
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), kept, Map.of());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains(gateUp) && e.getMessage().contains("[8, 32, 16]"), e.getMessage());
    }

    /**
     * Gemma 4's experts as the config claims them against the file: twice as many experts fails the parameter count;
     * experts half as wide pass it and are refused at the stacked tensor, named with its stored shape, not read as a
     * part of it.
     */
    @Test
    void gemma4ExpertsTheFileDoesNotHoldAreRefused(@TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/gemma4_text_moe", tmp);
        editConfig(dir, "num_experts", "8");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("config.json and the weights do not belong together"), e.getMessage());
        editConfig(dir, "num_experts", "4");
        editConfig(dir, "moe_intermediate_size", "8");
        e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("model.layers.0.experts.gate_up_proj") && e.getMessage().contains("[4, 32, 32]"),
                e.getMessage());
    }

    /** A Mistral 3 checkpoint's language model is a mistral or a ministral3; another text type is named. */
    @Test
    void mistral3WithAnotherTextModelTypeIsRefusedNamingIt(@TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/mistral3", tmp);
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        ((ObjectNode) c.get("text_config")).put("model_type", "llama");
        JSON.writeValue(dir.resolve("config.json").toFile(), c);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("text_config.model_type is 'llama'")
                && e.getMessage().contains("mistral or ministral3"), e.getMessage());
    }

    @Test
    void aConfigThatIsNotARegularFileIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.createDirectories(dir.resolve("config.json")); // a folder (a FIFO is refused the same way, without blocking)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    @Test
    void anEmptyShardedIndexIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = copyOfLlama(tmp);
        Files.delete(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": {}}");
        Exception e = assertThrows(Exception.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("empty 'weight_map'"), e.getMessage());
    }

    /**
     * The encoder classifiers' sizes and pad ids, read before anything is allocated: DistilBERT's own keys, and the pad
     * id that RoBERTa's position ids start after (null, or leaving no position after it, would index outside the table).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "distilbert_cls | dim          | 1000000000 | 'dim' = 1000000000 must be an integer",
            "distilbert_cls | n_layers     | 2.5        | 'n_layers' = 2.5 must be an integer",
            "distilbert_cls | n_heads      | -4         | 'n_heads' = -4 must be an integer",
            "distilbert_cls | hidden_dim   | 1e30       | 'hidden_dim' = 1.0E30 must be an integer",
            "distilbert_cls | n_heads      | 5          | dim 32 is not a multiple of n_heads 5",
            "distilbert_cls | pad_token_id | 272        | 'pad_token_id' = 272 must be an integer in [0, 271]",
            "roberta_cls    | pad_token_id | null       | position ids start after pad_token_id (null here)",
            "roberta_cls    | pad_token_id | 39         | pad_token_id 39, so it must be an integer below max_position_embeddings - 1 = 39",
            "xlm_roberta_cls | type_vocab_size | 1e9    | 'type_vocab_size' = 1.0E9 must be an integer",
            "distilbert_cls | n_layers     | 1000       | safetensors files hold"})
    void encoderSizesAndPadIdsAreCheckedBeforeAllocating(String reference, String field, String value, String expected,
                                                         @TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/" + reference, tmp);
        editConfig(dir, field, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadSequenceClassifier(dir));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /**
     * Nemotron-H's layer count is the pattern's length, so a pattern is a size claim too: too long for any model, or
     * longer than the weights, it is refused before allocating, as are its Mamba-2 sizes.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "hybrid_override_pattern | `\"M-*M-M-*M-M-*M-\"` | safetensors files hold",
            "mamba_num_heads         | 1000000000 | 'mamba_num_heads' = 1000000000 must be an integer",
            "ssm_state_size          | 2.5        | 'ssm_state_size' = 2.5 must be an integer",
            "mamba_head_dim          | -6         | 'mamba_head_dim' = -6 must be an integer"})
    void nemotronHSizesAreCheckedBeforeAllocating(String field, String value, String expected, @TempDir Path tmp)
            throws Exception {
        Path dir = copyOf("/references/nemotron_h", tmp);
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        c.remove("layers_block_type"); // the pattern is read where the list is absent
        c.put("hybrid_override_pattern", "M-*M-");
        JSON.writeValue(dir.resolve("config.json").toFile(), c);
        editConfig(dir, field, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void aMillionLayerNemotronHPatternIsRefusedNamingIt(@TempDir Path tmp) throws Exception {
        Path dir = copyOf("/references/nemotron_h", tmp);
        editConfig(dir, "layers_block_type", JSON.writeValueAsString(Collections.nCopies(1_000_000, "mlp")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("layers_block_type lists 1000000 layers"), e.getMessage());
    }

    /** What a rewrite keeps of one tensor: {@code tensor} itself, another tensor made in {@code copies}, or null to drop it. */
    private interface TensorEdit {
        Tensor apply(String name, Tensor tensor, TensorScope copies);
    }

    /** Rewrites {@code dir/model.safetensors} with {@code edit} applied to each tensor (read as float32). */
    private static void rewriteWeights(Path dir, TensorEdit edit) throws IOException {
        Map<String, Tensor> kept = new LinkedHashMap<>();
        try (TensorScope copies = TensorScope.detached()) {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
                for (String name : ckpt.names()) {
                    Tensor t = edit.apply(name, ckpt.tensor(name).convertTo(DType.F32, copies), copies);
                    if (t != null) {
                        kept.put(name, t);
                    }
                }
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), kept, Map.of());
        }
    }

    private static void editConfig(Path dir, String field, String value) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        c.set(field, JSON.readTree(value));
        JSON.writeValue(dir.resolve("config.json").toFile(), c);
    }

    private static Path copyOfLlama(Path tmp) throws IOException, URISyntaxException {
        return copyOf("/hf-tiny/llama", tmp);
    }

    private static Path copyOf(String resource, Path tmp) throws IOException, URISyntaxException {
        Path src = Path.of(HostileConfigTest.class.getResource(resource).toURI());
        Path dir = Files.createDirectories(tmp.resolve("model"));
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dir;
    }
}
