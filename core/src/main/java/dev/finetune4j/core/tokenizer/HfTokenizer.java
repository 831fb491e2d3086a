package dev.finetune4j.core.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A Hugging Face {@code tokenizer.json}, run by the real Rust tokenizers through DJL (natives bundled, no
 * network). Special tokens ({@code bos_token}, {@code eos_token}, {@code pad_token}) and the chat template come
 * from {@code tokenizer_config.json} when present. The chat template is the model's own, rendered as transformers
 * renders it ({@link JinjaChatTemplate}): {@code chat_template.jinja} next to tokenizer_config.json when there is
 * one (newer transformers save it there), else tokenizer_config.json's {@code chat_template} (a string, or the
 * entry named "default" of a list, with its "tool_use" entry rendered instead for conversations with tools, as
 * transformers picks). Without either, conversations are formatted as {@link ChatTemplate#CHATML}
 * with a logged warning. A template that does not parse fails the load naming the file, line and column, rather
 * than training or serving the model on a different format than its own.
 *
 * <pre>{@code
 * try (HfTokenizer tok = HfTokenizer.load(Path.of("Qwen2.5-0.5B"))) {
 *     long[] ids = tok.encode("你好");
 *     long[] prompt = tok.encodeChat(List.of(ChatMessage.user("hi")), true);
 * }
 * }</pre>
 *
 * <p>Encoding never truncates or pads (DJL's default would cut every text at 512 tokens) and adds no special
 * tokens; {@link #encodeWithSpecialTokens} adds those of the post-processor and cuts the text to a given
 * length, as transformers' {@code tokenizer(text, truncation=True, max_length=n)}, and
 * {@link #encodePairWithSpecialTokens} does the same for a sentence pair with its token type ids. Decoding skips
 * special tokens.
 *
 * <p>Thread safety: encode and decode may run concurrently. Close it, once no thread uses it any more, to free
 * the native tokenizer; use after close throws {@link IllegalStateException}.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HfTokenizer.class);

    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final OptionalLong bos;
    private final OptionalLong eos;
    private final OptionalLong pad;
    private final ChatTemplate template;
    private final Path file;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize, OptionalLong bos, OptionalLong eos, OptionalLong pad,
                        ChatTemplate template, Path file) {
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.template = template;
        this.file = file;
    }

    /**
     * The {@code tokenizer.json} this tokenizer was loaded from, for readers of its vocabulary (JSON mode's
     * {@link dev.finetune4j.core.generate.json.TokenBytes}).
     *
     * @return the file's path
     */
    public Path file() {
        return file;
    }

    /**
     * Loads {@code dir/tokenizer.json} (and {@code dir/tokenizer_config.json} when present).
     *
     * @param dir a model folder holding {@code tokenizer.json}
     * @return the tokenizer
     */
    public static HfTokenizer load(Path dir) {
        Path file = Files.isDirectory(dir) ? dir.resolve("tokenizer.json") : dir;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no tokenizer.json at " + file.toAbsolutePath() + "; a Hugging Face model folder has "
                    + "one next to config.json (older models with only vocab files: load them once in Python and call "
                    + "tokenizer.save_pretrained(dir), which writes tokenizer.json)");
        }
        ObjectMapper json = new ObjectMapper();
        try {
            JsonNode spec = json.readTree(file.toFile());
            for (String part : List.of("normalizer", "pre_tokenizer", "decoder")) {
                refuseNestedRepeats(spec.path(part), part, file);
            }
            Map<String, Long> special = new HashMap<>();
            int maxId = -1;
            for (JsonNode t : spec.path("added_tokens")) {
                int id = tokenId(t.path("id"), "added_tokens[].id", file);
                special.put(t.path("content").asText(), (long) id);
                maxId = Math.max(maxId, id);
            }
            JsonNode vocab = spec.path("model").path("vocab");
            if (vocab.isObject()) {
                for (JsonNode id : vocab) {
                    maxId = Math.max(maxId, tokenId(id, "model.vocab", file));
                }
            } else if (vocab.isArray()) {
                maxId = Math.max(maxId, vocab.size() - 1);
            }
            Path configFile = file.resolveSibling("tokenizer_config.json");
            JsonNode config = Files.isRegularFile(configFile) ? json.readTree(configFile.toFile()) : json.createObjectNode();
            return new HfTokenizer(buildNative(file), maxId + 1, specialId(config, "bos_token", special),
                    specialId(config, "eos_token", special), specialId(config, "pad_token", special),
                    chatTemplate(config, configFile), file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses every {@code "pattern": {"Regex": ...}} under {@code node} (Split pre-tokenizers, Replace normalizers
     * and decoders, in sequences at any depth) that repeats a varying part without bound: on some input the native tokenizer gives
     * up on such a pattern with a panic that aborts the JVM (see {@link NestedQuantifiers}).
     */
    private static void refuseNestedRepeats(JsonNode node, String path, Path file) {
        JsonNode regex = node.path("pattern").path("Regex");
        if (regex.isTextual()) {
            int at = NestedQuantifiers.find(regex.asText());
            if (at >= 0) {
                throw new IllegalArgumentException(file.toAbsolutePath() + ": the regex " + path + ".pattern.Regex \""
                        + regex.asText() + "\" repeats a part that can match in more than one way (the quantifier at "
                        + "character " + at + ": a part that itself repeats, or alternatives that start alike); on some "
                        + "inputs such a pattern backtracks until the native tokenizer aborts the JVM. Repeat single "
                        + "characters or classes, as GPT-2's, Llama 3's and Qwen2's patterns do, write alternatives of "
                        + "single characters as one class ([ab]+ instead of (a|b)+), or make the inner repeat possessive "
                        + "(a++ instead of a+)");
            }
        }
        for (var field : node.properties()) {
            refuseNestedRepeats(field.getValue(), path + "." + field.getKey(), file);
        }
        for (int i = 0; node.isArray() && i < node.size(); i++) {
            refuseNestedRepeats(node.get(i), path + "[" + i + "]", file);
        }
    }

    /**
     * A token id of {@code file}, in [0, 2^31 - 2] so that the vocabulary size (largest id + 1) is an int.
     */
    private static int tokenId(JsonNode id, String field, Path file) {
        return JsonFields.exactInteger(id, field, 0, Integer.MAX_VALUE - 1, file.toString());
    }

    /**
     * The Rust tokenizer of {@code file}; its parse errors ("data did not match any variant of untagged enum
     * ModelUntagged") say neither which file nor what to do, so they are wrapped.
     */
    private static HuggingFaceTokenizer buildNative(Path file) throws IOException {
        try {
            return HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false)
                    .optTruncation(false).optPadding(false).build();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the Hugging Face tokenizers library cannot load " + file.toAbsolutePath()
                    + ": \"" + e.getMessage() + "\". The file is corrupt or not a tokenizer.json this version reads: "
                    + "download it again, or load the tokenizer in Python and save it with tokenizers >= 0.14 "
                    + "(tokenizer.save_pretrained(dir))", e);
        }
    }

    /**
     * The model's chat template: chat_template.jinja, else {@code chat_template} of tokenizer_config.json (a Jinja
     * string, or a list of {@code {name, template}} objects: the one named "default", and "tool_use" for
     * conversations with tools where there is one, as transformers picks), else CHATML.
     */
    private static ChatTemplate chatTemplate(JsonNode config, Path configFile) throws IOException {
        Path jinjaFile = configFile.resolveSibling("chat_template.jinja");
        Map<String, String> tokens = new HashMap<>();
        for (String field : JinjaChatTemplate.SPECIAL_TOKENS) {
            String content = specialToken(config, field);
            if (content != null) {
                tokens.put(field, content);
            }
        }
        if (Files.isRegularFile(jinjaFile)) {
            return parsed(jinjaFile.toAbsolutePath().toString(), Files.readString(jinjaFile), tokens);
        }
        JsonNode node = config.path("chat_template");
        String origin = configFile.toAbsolutePath() + " (chat_template)";
        if (node.isTextual()) {
            return parsed(origin, node.asText(), tokens);
        }
        JsonNode named = namedTemplate(node, "default");
        if (named == null) {
            LOG.warn("{} has no chat_template; formatting conversations as chatml", configFile);
            return ChatTemplate.CHATML;
        }
        JinjaChatTemplate template = parsed(origin + " default", named.asText(), tokens);
        JsonNode toolUse = namedTemplate(node, "tool_use");
        return toolUse == null ? template : template.withToolUse(parsed(origin + " tool_use", toolUse.asText(), tokens));
    }

    /** The template text named {@code name} in a list of {@code {name, template}} objects, or null. */
    private static JsonNode namedTemplate(JsonNode list, String name) {
        for (JsonNode named : list.isArray() ? list : List.<JsonNode>of()) {
            if (named.path("name").asText().equals(name) && named.path("template").isTextual()) {
                return named.path("template");
            }
        }
        return null;
    }

    private static JinjaChatTemplate parsed(String origin, String source, Map<String, String> tokens) {
        try {
            return JinjaChatTemplate.parse(origin, source, tokens);
        } catch (TemplateException e) {
            throw new IllegalArgumentException("the chat template of " + origin + " cannot be parsed: " + e.getMessage()
                    + ". Fix the template (it is Jinja, as transformers renders it), or remove it and format "
                    + "conversations with a built-in template (ChatTemplate.named, SftFormat.withTemplate)", e);
        }
    }

    /** tokenizer_config.json gives special tokens as a string or as {"content": ...}; null when not set. */
    private static String specialToken(JsonNode config, String field) {
        JsonNode node = config.path(field);
        return node.isTextual() ? node.asText() : node.path("content").isTextual() ? node.path("content").asText() : null;
    }

    private static OptionalLong specialId(JsonNode config, String field, Map<String, Long> special) {
        String content = specialToken(config, field);
        Long id = content == null ? null : special.get(content);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    @Override
    public long[] encode(String text) {
        Encoding enc = tokenizer.encode(withoutLoneSurrogates(text), false, false);
        return enc.getIds();
    }

    /**
     * {@inheritDoc}
     *
     * <p>The special tokens are those of {@code tokenizer.json}'s {@code post_processor} for a single sequence
     * (TemplateProcessing, BertProcessing, RobertaProcessing; none for ByteLevel or without one), and only the
     * text's own tokens are cut, as the Rust tokenizers truncate before post-processing.
     */
    @Override
    public long[] encodeWithSpecialTokens(String text, int maxLength) {
        Encoding enc = tokenizer.encode(withoutLoneSurrogates(text), true, false);
        return truncated(enc, maxLength, "text").inputIds();
    }

    /**
     * {@inheritDoc}
     *
     * <p>The template is {@code tokenizer.json}'s {@code post_processor} for pairs (TemplateProcessing's {@code pair},
     * BertProcessing, RobertaProcessing), its type ids included; a tokenizer without one (ByteLevel or none, as
     * GPT-2's and Qwen2's) joins the texts as this interface's default does. The texts' own tokens are cut before the
     * template's are counted, as the Rust tokenizers truncate before post-processing.
     */
    @Override
    public PairEncoding encodePairWithSpecialTokens(String text, String pair, int maxLength) {
        Encoding enc = tokenizer.encode(withoutLoneSurrogates(text), withoutLoneSurrogates(pair), true, false);
        return truncated(enc, maxLength, "pair of texts");
    }

    /**
     * The ids and type ids of {@code enc} with its texts cut to fit {@code maxLength} by {@link PairTruncation}; the
     * special tokens the post-processor added all stay.
     */
    private PairEncoding truncated(Encoding enc, int maxLength, String what) {
        long[] ids = enc.getIds();
        long[] types = enc.getTypeIds();
        long[] sequence = enc.getSequenceIds(); // -1 at the special tokens the post-processor added, else 0 or 1
        long[] words = enc.getWordIds();
        long[][] wordIds = {new long[ids.length], new long[ids.length]};
        int[] lengths = new int[2];
        int added = 0;
        for (int i = 0; i < ids.length; i++) {
            int s = (int) sequence[i];
            if (s < 0) {
                added++;
            } else {
                wordIds[s][lengths[s]++] = words[i];
            }
        }
        if (maxLength <= added) {
            throw new IllegalArgumentException("maxLength " + maxLength + " is too small: " + file + " adds " + added
                    + " special tokens to every " + what + ", and the text needs room after them; give a maxLength of "
                    + "at least " + (added + 1));
        }
        int[] keep = PairTruncation.longestFirst(
                PairTruncation.seenLength(Arrays.copyOf(wordIds[0], lengths[0]), maxLength),
                PairTruncation.seenLength(Arrays.copyOf(wordIds[1], lengths[1]), maxLength), maxLength - added);
        int[] seen = new int[2];
        int n = 0;
        long[] keptIds = new long[Math.min(ids.length, maxLength)];
        long[] keptTypes = new long[keptIds.length];
        for (int i = 0; i < ids.length; i++) {
            int s = (int) sequence[i];
            if (s < 0 || seen[s]++ < keep[s]) {
                keptIds[n] = ids[i];
                keptTypes[n++] = types[i];
            }
        }
        return new PairEncoding(keptIds, keptTypes);
    }

    /**
     * {@code text} with each unpaired UTF-16 surrogate replaced by U+FFFD, as a UTF-8 decoder replaces a byte that
     * is not UTF-8: the native tokenizer reads Java's modified UTF-8, where one lone surrogate became 9 tokens.
     */
    static String withoutLoneSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1));
            if (paired) {
                if (out != null) {
                    out.append(c).append(text.charAt(i + 1));
                }
                i++;
            } else if (Character.isSurrogate(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
                out.append('\uFFFD');
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
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
