package dev.finetune4j.core.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A Hugging Face {@code tokenizer.json}, run by the real Rust tokenizers through DJL (natives bundled, no
 * network). Special tokens and the chat template come from {@code tokenizer_config.json} when present.
 *
 * <pre>{@code
 * try (HfTokenizer tok = HfTokenizer.load(Path.of("Qwen2.5-0.5B"))) { long[] ids = tok.encode("hi"); }
 * }</pre>
 *
 * Thread-safe; close it to free the native tokenizer.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final OptionalLong bos;
    private final OptionalLong eos;
    private final OptionalLong pad;
    private final ChatTemplate template;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize, OptionalLong bos, OptionalLong eos, OptionalLong pad, ChatTemplate template) {
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.template = template;
    }

    /** Loads {@code dir/tokenizer.json} (and {@code dir/tokenizer_config.json} when present). */
    public static HfTokenizer load(Path dir) {
        Path file = Files.isDirectory(dir) ? dir.resolve("tokenizer.json") : dir;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no tokenizer.json at " + file.toAbsolutePath() + "; a Hugging Face model folder has one next to config.json");
        }
        ObjectMapper json = new ObjectMapper();
        try {
            JsonNode spec = json.readTree(file.toFile());
            Map<String, Long> special = new HashMap<>();
            int maxId = -1;
            for (JsonNode t : spec.path("added_tokens")) {
                special.put(t.path("content").asText(), t.path("id").asLong());
                maxId = Math.max(maxId, t.path("id").asInt());
            }
            JsonNode vocab = spec.path("model").path("vocab");
            if (vocab.isObject()) {
                for (JsonNode id : vocab) {
                    maxId = Math.max(maxId, id.asInt());
                }
            } else if (vocab.isArray()) {
                maxId = Math.max(maxId, vocab.size() - 1);
            }
            Path configFile = file.resolveSibling("tokenizer_config.json");
            JsonNode config = Files.isRegularFile(configFile) ? json.readTree(configFile.toFile()) : json.createObjectNode();
            ChatTemplate template = config.hasNonNull("chat_template") && config.get("chat_template").isTextual()
                    ? ChatTemplate.recognise(config.get("chat_template").asText()) : ChatTemplate.CHATML;
            HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false).build();
            return new HfTokenizer(tok, maxId + 1, specialId(config, "bos_token", special), specialId(config, "eos_token", special),
                    specialId(config, "pad_token", special), template);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** tokenizer_config.json gives special tokens as a string or as {"content": ...}. */
    private static OptionalLong specialId(JsonNode config, String field, Map<String, Long> special) {
        JsonNode node = config.path(field);
        String content = node.isTextual() ? node.asText() : node.path("content").asText(null);
        Long id = content == null ? null : special.get(content);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    @Override
    public long[] encode(String text) {
        Encoding enc = tokenizer.encode(text, false, false);
        return enc.getIds();
    }

    @Override
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public OptionalLong bosTokenId() {
        return bos;
    }

    @Override
    public OptionalLong eosTokenId() {
        return eos;
    }

    @Override
    public OptionalLong padTokenId() {
        return pad;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return template;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
