package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tokenizer form each Gemma's GGUF takes, as llama.cpp's converter writes it (read back from the file): Gemma 3's
 * SentencePiece form ({@code llama}, no merges) and Gemma 4's own BPE type with its merges, where the special tokens
 * that Gemma 4's chat format shows ({@code <|channel>}, ...) are user-defined, so that llama.cpp renders them, and
 * other special tokens stay control tokens.
 */
class TokenizerMetadataTest {
    private static final String CHANNEL = "<|channel>";

    @ParameterizedTest
    @CsvSource({"gemma4-spm-f32, gemma4, true, 4", "gemma3-spm-f32, llama, false, 3"})
    void eachGemmaTakesItsConvertersTokenizerForm(String caseName, String tokenizerModel, boolean merges,
                                                  long channelType, @TempDir Path tmp) throws Exception {
        ReferenceCase c = ReferenceCase.byName().get(caseName);
        Path tokenizerDir = tmp.resolve("tok");
        c.loadTokenizer(tokenizerDir).close();
        ObjectMapper json = new ObjectMapper();
        ObjectNode spec = (ObjectNode) json.readTree(tokenizerDir.resolve("tokenizer.json").toFile());
        int channelId = spec.path("model").path("vocab").size();
        spec.withArray("added_tokens").addObject().put("id", channelId).put("content", CHANNEL).put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        json.writeValue(tokenizerDir.resolve("tokenizer.json").toFile(), spec);
        ObjectNode config = c.configJson().put("vocab_size", channelId + 1);
        if (config.has("vocab_size_per_layer_input")) { // Gemma 4's per-layer inputs cover the same tokens
            config.put("vocab_size_per_layer_input", channelId + 1);
        }
        Map<String, Object> keys;
        try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir); LanguageModel model = ReferenceCase.model(config)) {
            keys = GgufKeyValues.read(GgufExporter.export(model, tokenizer, tmp.resolve("m.gguf"), GgufType.F32));
        }
        assertEquals(tokenizerModel, keys.get("tokenizer.ggml.model"));
        assertEquals(merges, keys.containsKey("tokenizer.ggml.merges"));
        List<?> tokens = (List<?>) keys.get("tokenizer.ggml.tokens");
        List<?> types = (List<?>) keys.get("tokenizer.ggml.token_type");
        assertEquals(CHANNEL, tokens.get(channelId));
        assertEquals(channelType, ((Number) types.get(channelId)).longValue(), "token type of " + CHANNEL);
        assertEquals(3L, ((Number) types.get(tokens.indexOf("<s>"))).longValue(), "<s> stays a control token");
    }
}
