package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code tokenizer.*} keys of a SentencePiece unigram tokenizer.json (XLM-RoBERTa's) as llama.cpp's UGM tokenizer
 * reads them (model {@code t5}): the pieces with their log-probability scores, the normalizer's
 * {@code precompiled_charsmap} (SentencePiece's NFKC table, which llama.cpp applies itself; a tokenizer without a
 * normalizer normalizes nothing on either side), ▁ before each word, and BOS/EOS around a text as the post-processor
 * wraps it. llama.cpp searches the best pieces over the whole text where Hugging Face searches each word apart: the
 * same result as long as no piece holds ▁ inside it, which is checked, and the piece ▁ itself exists (XLM-RoBERTa's
 * does; without it llama.cpp fuses unknown characters of neighbouring words into one {@code <unk>}).
 *
 * <p>Spaces: with the pre-tokenizer {@code WhitespaceSplit, Metaspace} (transformers' XLM-RoBERTa) or a
 * {@code Replace(" {2,}", " ")} normalizer, runs of spaces count as one, as llama.cpp's
 * {@code remove_extra_whitespaces} does; llama.cpp also drops spaces before the first and after the last word, which
 * the {@code Replace} layout keeps. With {@code Metaspace} alone every space is a ▁, as in llama.cpp, except that
 * llama.cpp adds a ▁ before a text's leading spaces where Hugging Face takes the first space as the word's ▁.
 */
final class UnigramMetadata {
    /** llama_token_type (include/llama.h). */
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    private static final int UNUSED = 5;
    /** The score llama.cpp's converter gives the rows a model has beyond its tokenizer. */
    private static final float UNUSED_SCORE = -10000f;
    private static final String SPACE = "\u2581";

    private UnigramMetadata() {
    }

    /**
     * Adds the keys for {@code json} (a Unigram tokenizer.json read from {@code file}, with its tokenizer_config.json
     * {@code config}) for a model of {@code modelVocab} token rows.
     *
     * @throws IllegalArgumentException when the tokenizer normalizes, splits or wraps text otherwise than llama.cpp's
     *                                  UGM tokenizer can, naming what was found
     */
    static void put(GgufMetadata meta, JsonNode json, JsonNode config, Path file, int modelVocab) {
        JsonNode model = json.path("model");
        if (model.path("byte_fallback").asBoolean(false) || !model.path("unk_id").isInt()) {
            throw new IllegalArgumentException(file + ": a Unigram tokenizer with byte_fallback "
                    + model.path("byte_fallback") + " and unk_id " + model.path("unk_id") + "; llama.cpp's unigram "
                    + "tokenizer has no byte fallback and needs the unknown piece (XLM-RoBERTa's: byte_fallback false, "
                    + "unk_id 3). Export the classifier to ONNX instead (OnnxExporter)");
        }
        Normalizer normalizer = normalizer(json.path("normalizer"), file);
        checkPreTokenizer(json.path("pre_tokenizer"), file);
        boolean splitsOnWhitespace = json.path("pre_tokenizer").path("type").asText().equals("Sequence");

        String[] tokens = new String[modelVocab];
        float[] scores = new float[modelVocab];
        int[] types = new int[modelVocab];
        JsonNode pieces = model.path("vocab");
        for (int id = 0; id < pieces.size(); id++) {
            tokens[id] = pieces.get(id).get(0).asText();
            scores[id] = (float) pieces.get(id).get(1).asDouble();
            types[id] = NORMAL;
        }
        for (JsonNode added : json.path("added_tokens")) {
            int id = added.path("id").asInt();
            tokens[id] = added.path("content").asText();
            types[id] = added.path("special").asBoolean() ? CONTROL : USER_DEFINED;
        }
        int unk = model.path("unk_id").asInt();
        types[unk] = UNKNOWN;
        Map<String, Integer> firstId = new HashMap<>();
        for (int id = 0; id < modelVocab; id++) {
            if (tokens[id] == null) {
                tokens[id] = "[PAD" + id + "]";
                scores[id] = UNUSED_SCORE;
                types[id] = UNUSED;
            } else if (types[id] == NORMAL && tokens[id].indexOf(SPACE, 1) > 0) {
                throw new IllegalArgumentException(file + ": piece " + id + " '" + tokens[id] + "' holds ▁ inside it; "
                        + "Hugging Face tokenizes each word apart and never forms it, llama.cpp searches the whole "
                        + "text and would. Export the classifier to ONNX instead (OnnxExporter)");
            }
            Integer twin = firstId.putIfAbsent(tokens[id], id);
            if (twin != null) {
                throw new IllegalArgumentException(file + ": piece '" + tokens[id] + "' is both id " + twin + " and id "
                        + id + "; Hugging Face reaches only one of them, llama.cpp refuses a vocabulary with a piece "
                        + "twice. Remove the unused twin from the tokenizer (and the model's embedding), or export the "
                        + "classifier to ONNX instead (OnnxExporter)");
            }
        }
        meta.putString("tokenizer.ggml.model", "t5")
                .putString("tokenizer.ggml.pre", "default")
                .putStrings("tokenizer.ggml.tokens", List.of(tokens))
                .putFloat32s("tokenizer.ggml.scores", scores)
                .putInt32s("tokenizer.ggml.token_type", types)
                .putBool("tokenizer.ggml.add_space_prefix", true)
                .putBool("tokenizer.ggml.remove_extra_whitespaces", splitsOnWhitespace || normalizer.mergesSpaces());
        if (normalizer.charsmap() != null) {
            meta.putUint8s("tokenizer.ggml.precompiled_charsmap", normalizer.charsmap());
        }
        int[] wrap = wrap(json.path("post_processor"), file);
        List<String> names = Arrays.asList(tokens);
        meta.putUint32("tokenizer.ggml.bos_token_id", wrap[0])
                .putUint32("tokenizer.ggml.eos_token_id", wrap[1])
                .putUint32("tokenizer.ggml.seperator_token_id", wrap[1])
                .putUint32("tokenizer.ggml.unknown_token_id", unk)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putBool("tokenizer.ggml.add_eos_token", true);
        int pad = special(config, "pad_token", "<pad>", names);
        if (pad >= 0) {
            meta.putUint32("tokenizer.ggml.padding_token_id", pad);
        }
        int mask = special(config, "mask_token", "<mask>", names);
        if (mask >= 0) {
            meta.putUint32("tokenizer.ggml.mask_token_id", mask);
        }
    }

    /**
     * What the normalizer does, as llama.cpp can: nothing, SentencePiece's precompiled table, and optionally runs of
     * spaces to one after it.
     *
     * @param charsmap    the precompiled_charsmap's bytes, or null
     * @param mergesSpaces whether a Replace(" {2,}", " ") follows
     */
    private record Normalizer(byte[] charsmap, boolean mergesSpaces) {
    }

    private static Normalizer normalizer(JsonNode normalizer, Path file) {
        if (normalizer.isNull() || normalizer.isMissingNode()) {
            return new Normalizer(null, false);
        }
        List<JsonNode> steps = new ArrayList<>();
        if (normalizer.path("type").asText().equals("Sequence")) {
            normalizer.path("normalizers").forEach(steps::add);
        } else {
            steps.add(normalizer);
        }
        byte[] charsmap = null;
        boolean mergesSpaces = false;
        for (int i = 0; i < steps.size(); i++) {
            JsonNode step = steps.get(i);
            if (i == 0 && step.path("type").asText().equals("Precompiled")) {
                charsmap = Base64.getDecoder().decode(step.path("precompiled_charsmap").asText());
            } else if (i == steps.size() - 1 && step.path("type").asText().equals("Replace")
                    && step.path("pattern").path("Regex").asText().equals(" {2,}")
                    && step.path("content").asText().equals(" ")) {
                mergesSpaces = true;
            } else {
                throw new IllegalArgumentException(file + ": a Unigram tokenizer whose normalizer " + normalizer
                        + " is not SentencePiece's (a Precompiled charsmap, optionally Replace(\" {2,}\", \" \") after "
                        + "it, or none); llama.cpp's unigram tokenizer applies only those. Export the classifier to "
                        + "ONNX instead (OnnxExporter)");
            }
        }
        return new Normalizer(charsmap, mergesSpaces);
    }

    /** Metaspace putting ▁ before every word, alone or after WhitespaceSplit; anything else is refused. */
    private static void checkPreTokenizer(JsonNode pre, Path file) {
        JsonNode metaspace = pre;
        if (pre.path("type").asText().equals("Sequence") && pre.path("pretokenizers").size() == 2
                && pre.path("pretokenizers").get(0).path("type").asText().equals("WhitespaceSplit")) {
            metaspace = pre.path("pretokenizers").get(1);
        }
        // NOTE: tokenizer.json files written before tokenizers 0.19 say add_prefix_space instead of prepend_scheme
        String prepend = metaspace.path("prepend_scheme")
                .asText(metaspace.path("add_prefix_space").asBoolean(true) ? "always" : "never");
        if (!metaspace.path("type").asText().equals("Metaspace") || !metaspace.path("replacement").asText().equals(SPACE)
                || !prepend.equals("always")) {
            throw new IllegalArgumentException(file + ": a Unigram tokenizer whose pre-tokenizer " + pre + " is not "
                    + "XLM-RoBERTa's (Metaspace with ▁ before every word, prepend_scheme always, alone or after "
                    + "WhitespaceSplit); llama.cpp's unigram tokenizer would split text differently. Export the "
                    + "classifier to ONNX instead (OnnxExporter)");
        }
    }

    /** The BOS and EOS ids the post-processor puts around one text: RoBERTa's cls and sep, or a template's. */
    private static int[] wrap(JsonNode post, Path file) {
        if (post.path("type").asText().equals("RobertaProcessing")) {
            return new int[]{post.path("cls").get(1).asInt(), post.path("sep").get(1).asInt()};
        }
        JsonNode single = post.path("single");
        if (post.path("type").asText().equals("TemplateProcessing") && single.size() == 3
                && single.get(1).has("Sequence")) {
            JsonNode ids = post.path("special_tokens");
            JsonNode bos = ids.path(single.get(0).path("SpecialToken").path("id").asText()).path("ids");
            JsonNode eos = ids.path(single.get(2).path("SpecialToken").path("id").asText()).path("ids");
            if (bos.size() == 1 && eos.size() == 1) {
                return new int[]{bos.get(0).asInt(), eos.get(0).asInt()};
            }
        }
        throw new IllegalArgumentException(file + ": its post-processor " + post + " does not wrap a text in one "
                + "token before and one after it (XLM-RoBERTa's <s> A </s>), which is all llama.cpp adds. Export the "
                + "classifier to ONNX instead (OnnxExporter)");
    }

    /** The id of the token tokenizer_config.json names under {@code key} (else {@code fallback}), or -1. */
    private static int special(JsonNode config, String key, String fallback, List<String> tokens) {
        JsonNode named = config.path(key);
        return tokens.indexOf(named.isTextual() ? named.asText() : named.path("content").asText(fallback));
    }
}
