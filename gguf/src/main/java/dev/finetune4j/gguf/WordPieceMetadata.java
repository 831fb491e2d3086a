package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code tokenizer.*} keys of a BERT WordPiece tokenizer.json as llama.cpp's own WordPiece tokenizer reads them
 * (model {@code bert}): it splits words as BERT's normalizer and pre-tokenizer do, prefixes each word with U+2581 and
 * matches the longest tokens, so a token that starts a word is written with U+2581 before it and a continuation
 * ({@code ##ing}) without its prefix; special tokens as they are. {@code [CLS]} is the BOS token and {@code [SEP]}
 * the separator, both added around a text.
 */
final class WordPieceMetadata {
    /** llama_token_type (include/llama.h). */
    private static final int NORMAL = 1;
    private static final int CONTROL = 3;
    private static final int UNUSED = 5;
    private static final String CONTINUATION = "##";

    private WordPieceMetadata() {
    }

    /**
     * Adds the keys for {@code json} (a WordPiece tokenizer.json read from {@code file}, with its tokenizer_config.json
     * {@code config}) for a model of {@code modelVocab} token rows.
     *
     * @throws IllegalArgumentException when the tokenizer normalizes, splits or prefixes otherwise than BERT's, which
     *                                  llama.cpp would not reproduce
     */
    static void put(GgufMetadata meta, JsonNode json, JsonNode config, Path file, int modelVocab) {
        JsonNode model = json.path("model");
        JsonNode normalizer = json.path("normalizer");
        boolean bert = normalizer.path("type").asText().equals("BertNormalizer")
                && normalizer.path("handle_chinese_chars").asBoolean(true) && normalizer.path("clean_text").asBoolean(true)
                && json.path("pre_tokenizer").path("type").asText().equals("BertPreTokenizer")
                && model.path("continuing_subword_prefix").asText(CONTINUATION).equals(CONTINUATION);
        if (!bert) {
            throw new IllegalArgumentException(file + ": a WordPiece tokenizer whose normalizer " + normalizer
                    + ", pre-tokenizer " + json.path("pre_tokenizer") + " and subword prefix '"
                    + model.path("continuing_subword_prefix").asText() + "' are not BERT's (BertNormalizer cleaning text "
                    + "and splitting Chinese characters, BertPreTokenizer, '##'); llama.cpp's WordPiece tokenizer would "
                    + "split text differently. Export the classifier to ONNX instead (OnnxExporter)");
        }
        String[] tokens = new String[modelVocab];
        int[] types = new int[modelVocab];
        model.path("vocab").properties().forEach(e -> {
            String token = e.getKey();
            tokens[e.getValue().asInt()] = token.startsWith(CONTINUATION) ? token.substring(CONTINUATION.length())
                    : "\u2581" + token;
            types[e.getValue().asInt()] = NORMAL;
        });
        for (JsonNode added : json.path("added_tokens")) {
            int id = added.path("id").asInt();
            tokens[id] = added.path("content").asText();
            types[id] = added.path("special").asBoolean() ? CONTROL : NORMAL;
        }
        for (int i = 0; i < modelVocab; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            }
        }
        boolean lowercase = normalizer.path("lowercase").asBoolean(true);
        JsonNode stripAccents = normalizer.path("strip_accents");
        meta.putString("tokenizer.ggml.model", "bert")
                .putString("tokenizer.ggml.pre", "default")
                .putStrings("tokenizer.ggml.tokens", List.of(tokens))
                .putInt32s("tokenizer.ggml.token_type", types)
                .putBool("tokenizer.ggml.normalizer.lowercase", lowercase)
                .putBool("tokenizer.ggml.normalizer.strip_accents",
                        stripAccents.isBoolean() ? stripAccents.asBoolean() : lowercase);
        List<String> names = Arrays.asList(tokens);
        int cls = special(config, "cls_token", "[CLS]", names, file);
        meta.putUint32("tokenizer.ggml.bos_token_id", cls)
                .putUint32("tokenizer.ggml.cls_token_id", cls)
                .putUint32("tokenizer.ggml.seperator_token_id", special(config, "sep_token", "[SEP]", names, file))
                .putUint32("tokenizer.ggml.unknown_token_id",
                        special(config, "unk_token", model.path("unk_token").asText("[UNK]"), names, file))
                .putUint32("tokenizer.ggml.padding_token_id", special(config, "pad_token", "[PAD]", names, file))
                .putUint32("tokenizer.ggml.mask_token_id", special(config, "mask_token", "[MASK]", names, file))
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putBool("tokenizer.ggml.add_eos_token", false)
                .putBool("tokenizer.ggml.add_sep_token", true);
    }

    /** The id of the special token tokenizer_config.json names under {@code key} (else {@code fallback}). */
    private static int special(JsonNode config, String key, String fallback, List<String> tokens, Path file) {
        JsonNode named = config.path(key);
        String token = named.isTextual() ? named.asText() : named.path("content").asText(fallback);
        int id = tokens.indexOf(token);
        if (id < 0) {
            throw new IllegalArgumentException(file + " has no token '" + token + "' (" + key + "), which llama.cpp's "
                    + "WordPiece tokenizer needs; give the classifier the tokenizer it was trained with");
        }
        return id;
    }
}
