package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code tokenizer.*} keys of a GGUF file from a Hugging Face tokenizer.json (and tokenizer_config.json), which
 * llama.cpp tokenizes with itself:
 * <ul>
 *   <li>byte-level BPE (GPT-2, Llama 3, Qwen): model {@code gpt2}, the tokens in their byte-level spelling, the
 *       merges, and the pre-tokenizer ({@code tokenizer.ggml.pre}) named after the tokenizer.json pre-tokenizer's
 *       regular expression: GPT-2's ({@code gpt-2}; RoBERTa's {@code roberta-bpe}), Llama 3's ({@code llama-bpe}) or Qwen2's ({@code qwen2});
 *       any other is refused rather than guessed;</li>
 *   <li>SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma): model {@code llama}, {@code <0xNN>} byte
 *       tokens, and scores that rank each merged token by its merge's priority (llama.cpp merges by highest
 *       score where Hugging Face merges by lowest rank);</li>
 *   <li>the same tokenizer of a {@code gemma4} model as llama.cpp's converter writes Gemma 4's: model {@code gemma4}
 *       (BPE over the merges, on raw UTF-8 with spaces as U+2581, newline runs apart), the merges beside the
 *       scores, no space prefix;</li>
 *   <li>BERT's WordPiece: model {@code bert} ({@link WordPieceMetadata});</li>
 *   <li>XLM-RoBERTa's SentencePiece unigram: model {@code t5} ({@link UnigramMetadata}).</li>
 * </ul>
 * Ids missing from the tokenizer, and the rows a model's vocabulary has beyond it, become unused
 * {@code [PADn]} tokens, as llama.cpp's converter pads them.
 */
final class TokenizerMetadata {
    // llama_token_type (include/llama.h)
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    private static final int UNUSED = 5;
    private static final int BYTE = 6;
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
    /** The architecture whose SentencePiece-style tokenizer llama.cpp reads as its own BPE type of the same name. */
    private static final String GEMMA4 = "gemma4";
    /**
     * Gemma 4's special tokens that its chat format shows (channels, tool calls and responses, its string quote),
     * written as user-defined rather than control tokens, as the converter writes them, so that llama.cpp renders them
     * and its chat parser can read them.
     */
    private static final Set<String> GEMMA4_VISIBLE = Set.of("<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
            "<|tool_response>", "<tool_response|>", "<|\"|>");
    /** The Split regexes of the byte-level pre-tokenizers llama.cpp implements, by its name for them. */
    private static final Map<String, String> SPLIT_REGEXES = Map.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2");

    private TokenizerMetadata() {
    }

    /**
     * Adds the tokenizer keys of {@code tokenizer} for a model of {@code modelVocab} token rows written as GGUF
     * architecture {@code architecture} (which names the tokenizer's form for {@code gemma4}).
     *
     * @throws IllegalArgumentException when the tokenizer is of a kind llama.cpp cannot reproduce, or has more
     *                                  tokens than the model has rows
     */
    static void put(GgufMetadata meta, HfTokenizer tokenizer, int modelVocab, String architecture) {
        Path file = tokenizer.file();
        JsonNode json = read(file);
        Path configFile = file.resolveSibling("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? read(configFile) : new ObjectMapper().createObjectNode();
        JsonNode model = json.path("model");
        int size = tokenizer.vocabSize();
        if (size > modelVocab) {
            throw new IllegalArgumentException(file + " has " + size + " token ids but the model's embedding only "
                    + modelVocab + " rows (vocab_size): ids past it would index nothing; use the tokenizer the model "
                    + "was trained with, or resize the model's embeddings to the tokenizer");
        }
        if (model.path("type").asText().equals("WordPiece")) {
            WordPieceMetadata.put(meta, json, config, file, modelVocab);
            return;
        }
        if (model.path("type").asText().equals("Unigram")) {
            UnigramMetadata.put(meta, json, config, file, modelVocab);
            return;
        }
        if (!model.path("type").asText().equals("BPE")) {
            throw new IllegalArgumentException(file + ": GGUF export reads BPE tokenizers (byte-level, or "
                    + "SentencePiece-style with byte_fallback), BERT's WordPiece and XLM-RoBERTa's Unigram, not '"
                    + model.path("type").asText() + "'");
        }
        String[] tokens = new String[modelVocab];
        int[] types = new int[modelVocab];
        model.path("vocab").properties().forEach(e -> {
            tokens[e.getValue().asInt()] = e.getKey();
            types[e.getValue().asInt()] = NORMAL;
        });
        Map<String, Integer> idOf = new HashMap<>();
        for (JsonNode added : json.path("added_tokens")) {
            int id = added.path("id").asInt();
            tokens[id] = added.path("content").asText();
            types[id] = added.path("special").asBoolean() ? CONTROL : USER_DEFINED;
            idOf.put(tokens[id], id);
        }
        for (int i = 0; i < modelVocab; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            }
        }
        List<String> merges = merges(model.path("merges"));
        if (model.path("byte_fallback").asBoolean(false)) {
            boolean spacePrefix = sentencePieceSpacePrefix(json, file);
            for (int i = 0; i < size; i++) {
                if (types[i] == NORMAL && BYTE_TOKEN.matcher(tokens[i]).matches()) {
                    types[i] = BYTE;
                }
            }
            String unk = model.path("unk_token").asText(null);
            JsonNode unkId = unk == null ? null : idOf.containsKey(unk) ? IntNode.valueOf(idOf.get(unk))
                    : model.path("vocab").get(unk);
            if (unkId != null) {
                types[unkId.asInt()] = UNKNOWN;
                meta.putUint32("tokenizer.ggml.unknown_token_id", unkId.asInt());
            }
            boolean gemma4 = architecture.equals(GEMMA4);
            for (int i = 0; gemma4 && i < size; i++) {
                if (GEMMA4_VISIBLE.contains(tokens[i])) {
                    types[i] = USER_DEFINED;
                }
            }
            meta.putString("tokenizer.ggml.model", gemma4 ? GEMMA4 : "llama")
                    .putString("tokenizer.ggml.pre", gemma4 ? GEMMA4 : "default")
                    .putBool("tokenizer.ggml.add_space_prefix", spacePrefix)
                    .putStrings("tokenizer.ggml.tokens", List.of(tokens))
                    .putFloat32s("tokenizer.ggml.scores", mergeScores(tokens, types, merges))
                    .putInt32s("tokenizer.ggml.token_type", types);
            if (gemma4) {
                meta.putStrings("tokenizer.ggml.merges", merges);
            }
        } else {
            meta.putString("tokenizer.ggml.model", "gpt2").putString("tokenizer.ggml.pre", byteLevelPre(json, file))
                    .putStrings("tokenizer.ggml.tokens", List.of(tokens))
                    .putInt32s("tokenizer.ggml.token_type", types)
                    .putStrings("tokenizer.ggml.merges", merges);
        }
        putSpecialTokens(meta, tokenizer, json, config);
    }

    /** Merges as "left right" strings: tokenizer.json writes them so, or (tokenizers >= 0.20) as pairs. */
    private static List<String> merges(JsonNode list) {
        List<String> out = new ArrayList<>(list.size());
        for (JsonNode m : list) {
            out.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        }
        return out;
    }

    /**
     * SentencePiece scores for llama.cpp's merging, which joins the adjacent pair whose joined token scores highest:
     * the result of merge r scores -(r + 1), so that the merges happen in Hugging Face's order. A token no merge makes
     * scores 0 when it is a single character or not text (a byte, control or added token), and below every merge
     * otherwise, so that llama.cpp forms it only where no merge competes.
     */
    private static float[] mergeScores(String[] tokens, int[] types, List<String> merges) {
        Map<String, Integer> rank = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            rank.putIfAbsent(merges.get(r).replace(" ", ""), r);
        }
        float[] scores = new float[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            Integer r = rank.get(tokens[i]);
            boolean single = types[i] != NORMAL || tokens[i].codePointCount(0, tokens[i].length()) <= 1;
            scores[i] = r != null ? -(r + 1) : single ? 0 : -(merges.size() + 1);
        }
        return scores;
    }

    /**
     * Whether llama.cpp's SentencePiece tokenizer prefixes the text with a space: Llama 2's layout (a normalizer
     * that prepends ▁ and turns spaces into ▁, no pre-tokenizer) or its later one (a Metaspace pre-tokenizer that
     * does the same) do; Gemma's (a normalizer that only turns spaces into ▁) does not. Any other layout is refused.
     */
    private static boolean sentencePieceSpacePrefix(JsonNode json, Path file) {
        JsonNode normalizer = json.path("normalizer");
        JsonNode pre = json.path("pre_tokenizer");
        if (pre.isNull() || pre.isMissingNode()) {
            JsonNode steps = normalizer.path("type").asText().equals("Sequence") ? normalizer.path("normalizers")
                    : new ObjectMapper().createArrayNode().add(normalizer);
            boolean prepends = false;
            boolean replaces = false;
            boolean other = false;
            for (JsonNode n : steps) {
                boolean prepend = n.path("type").asText().equals("Prepend") && n.path("prepend").asText().equals("\u2581");
                boolean replace = n.path("type").asText().equals("Replace")
                        && n.path("pattern").path("String").asText().equals(" ") && n.path("content").asText().equals("\u2581");
                prepends |= prepend;
                replaces |= replace;
                other |= !prepend && !replace;
            }
            if (replaces && !other) {
                return prepends;
            }
        } else if (pre.path("type").asText().equals("Metaspace") && (normalizer.isNull() || normalizer.isMissingNode())
                && pre.path("replacement").asText().equals("\u2581")
                && pre.path("prepend_scheme").asText("always").matches("always|first")
                && !pre.path("split").asBoolean(false)) {
            return true;
        }
        throw new IllegalArgumentException(file + ": a byte-fallback BPE tokenizer whose normalizer " + normalizer
                + " and pre-tokenizer " + pre + " are neither Llama 2's (prepend ▁, spaces to ▁) nor Gemma's (spaces to "
                + "▁); llama.cpp's SentencePiece tokenizer would split text differently. Convert it with llama.cpp's "
                + "convert_hf_to_gguf.py from its tokenizer.model");
    }

    /** llama.cpp's name for the byte-level pre-tokenizer of tokenizer.json, or a refusal naming what was found. */
    private static String byteLevelPre(JsonNode json, Path file) {
        JsonNode pre = json.path("pre_tokenizer");
        JsonNode normalizer = json.path("normalizer");
        boolean plainText = normalizer.isNull() || normalizer.isMissingNode()
                || normalizer.path("type").asText().equals("NFC"); // Qwen's NFC, which llama.cpp leaves out too
        String name = null;
        if (pre.path("type").asText().equals("ByteLevel") && pre.path("use_regex").asBoolean(true)
                && !pre.path("add_prefix_space").asBoolean(false)) {
            // NOTE: RoBERTa's is GPT-2's; llama.cpp's name for it also joins a reranker's two texts with a separator
            name = json.path("post_processor").path("type").asText().equals("RobertaProcessing") ? "roberta-bpe"
                    : "gpt-2";
        } else if (pre.path("type").asText().equals("Sequence") && pre.path("pretokenizers").size() == 2) {
            JsonNode split = pre.path("pretokenizers").get(0);
            JsonNode byteLevel = pre.path("pretokenizers").get(1);
            if (split.path("type").asText().equals("Split") && split.path("behavior").asText().equals("Isolated")
                    && !split.path("invert").asBoolean(false) && byteLevel.path("type").asText().equals("ByteLevel")
                    && !byteLevel.path("use_regex").asBoolean(true) && !byteLevel.path("add_prefix_space").asBoolean(false)) {
                name = SPLIT_REGEXES.get(split.path("pattern").path("Regex").asText());
            }
        }
        boolean ignoresMerges = json.path("model").path("ignore_merges").asBoolean(false);
        if (name == null || !plainText || ignoresMerges != name.equals("llama-bpe")) {
            throw new IllegalArgumentException(file + ": its byte-level pre-tokenizer " + pre + (plainText ? ""
                    : " with normalizer " + normalizer) + (name != null ? " with ignore_merges " + ignoresMerges : "")
                    + " is not one llama.cpp is known to reproduce (GPT-2's, Llama 3's or Qwen2's); rather than "
                    + "guess a tokenizer.ggml.pre that would split text differently, the export stops. Convert the "
                    + "model with llama.cpp's convert_hf_to_gguf.py, which identifies pre-tokenizers by their output");
        }
        return name;
    }

    /**
     * bos/eos/unk/pad ids, whether llama.cpp adds BOS/EOS, and the chat template. RoBERTa's post-processor wraps a
     * text in its {@code cls} and {@code sep} tokens, which llama.cpp adds as its BOS and EOS.
     */
    private static void putSpecialTokens(GgufMetadata meta, HfTokenizer tokenizer, JsonNode json, JsonNode config) {
        JsonNode roberta = json.path("post_processor");
        if (roberta.path("type").asText().equals("RobertaProcessing")) {
            meta.putUint32("tokenizer.ggml.bos_token_id", roberta.path("cls").get(1).asLong())
                    .putUint32("tokenizer.ggml.eos_token_id", roberta.path("sep").get(1).asLong())
                    .putUint32("tokenizer.ggml.seperator_token_id", roberta.path("sep").get(1).asLong())
                    .putBool("tokenizer.ggml.add_bos_token", true)
                    .putBool("tokenizer.ggml.add_eos_token", true);
            tokenizer.padTokenId().ifPresent(id -> meta.putUint32("tokenizer.ggml.padding_token_id", id));
            return;
        }
        OptionalLong bos = tokenizer.bosTokenId();
        OptionalLong eos = tokenizer.eosTokenId();
        bos.ifPresent(id -> meta.putUint32("tokenizer.ggml.bos_token_id", id));
        eos.ifPresent(id -> meta.putUint32("tokenizer.ggml.eos_token_id", id));
        tokenizer.padTokenId().ifPresent(id -> meta.putUint32("tokenizer.ggml.padding_token_id", id));
        meta.putBool("tokenizer.ggml.add_bos_token", adds(config, "add_bos_token", json, bos, true));
        meta.putBool("tokenizer.ggml.add_eos_token", adds(config, "add_eos_token", json, eos, false));
        if (tokenizer.chatTemplate() instanceof JinjaChatTemplate template) {
            meta.putString("tokenizer.chat_template", template.source());
        }
    }

    /**
     * Whether encoding adds the token: tokenizer_config.json's flag when set, else whether the post-processor's
     * single-sequence template starts ({@code first}) or ends with it.
     */
    private static boolean adds(JsonNode config, String flag, JsonNode json, OptionalLong id, boolean first) {
        if (config.path(flag).isBoolean()) {
            return config.path(flag).asBoolean();
        }
        JsonNode single = json.path("post_processor").path("single");
        if (id.isEmpty() || !single.isArray() || single.isEmpty()) {
            return false;
        }
        JsonNode end = single.get(first ? 0 : single.size() - 1).path("SpecialToken").path("id");
        JsonNode special = json.path("post_processor").path("special_tokens").path(end.asText()).path("ids");
        return special.size() == 1 && special.get(0).asLong() == id.getAsLong();
    }

    private static JsonNode read(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
