package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Iterator;
import java.util.Map;

/**
 * Reads token bytes from a Hugging Face {@code tokenizer.json}. Two vocabulary styles are understood:
 * <ul>
 *   <li><b>byte-level BPE</b> (a {@code ByteLevel} decoder or pre-tokenizer: GPT-2, Llama 3, Qwen2): each character of
 *   a vocabulary string stands for one byte through GPT-2's {@code bytes_to_unicode} table;</li>
 *   <li><b>SentencePiece-style</b> (a {@code Metaspace} decoder or pre-tokenizer, or a decoder that replaces
 *   {@code ▁}: Llama 2, Mistral v0.1, T5): pieces are UTF-8 with {@code ▁} for a space, and {@code <0xNN>} pieces
 *   are the single byte NN when the model or decoder has byte fallback.</li>
 * </ul>
 * Other decoders (WordPiece, BPE with word suffixes, CTC) insert or remove text between tokens, so a token's
 * bytes depend on its neighbours and are refused. Every id in {@code added_tokens} counts as special.
 *
 * <p>NOTE: the SentencePiece decoder's {@code Strip} of the first space is a property of the whole text, not of a
 * token, so here {@code ▁hello} is always " hello"; a constraint sees that leading space as JSON whitespace.
 */
final class TokenizerJsonBytes {
    private static final char SPACE_PIECE = '\u2581';
    private static final int MAX_ID = 16 * 1024 * 1024;

    private TokenizerJsonBytes() {
    }

    static TokenBytes read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        JsonNode spec;
        try {
            spec = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        return read(spec, file.toString());
    }

    static TokenBytes read(JsonNode spec, String source) {
        JsonNode model = spec.path("model");
        boolean byteLevel = hasType(spec.path("decoder"), "ByteLevel") || hasType(spec.path("pre_tokenizer"), "ByteLevel");
        boolean metaspace = hasType(spec.path("decoder"), "Metaspace") || hasType(spec.path("pre_tokenizer"), "Metaspace")
                || replacesSpacePiece(spec.path("decoder"));
        boolean byteFallback = model.path("byte_fallback").asBoolean(false) || hasType(spec.path("decoder"), "ByteFallback");
        String decoderType = spec.path("decoder").path("type").asText("none");
        if (!byteLevel && !metaspace) {
            throw new IllegalArgumentException(source + ": its decoder (" + decoderType + ") is neither byte-level BPE "
                    + "(a ByteLevel decoder, as GPT-2, Llama 3, Qwen2) nor SentencePiece-style (Metaspace or a Replace of "
                    + "'\u2581' by ' ', as Llama 2, Mistral); with other decoders a token's text depends on its neighbours, "
                    + "so JSON-constrained decoding cannot check tokens one by one. Use a model with a byte-level or "
                    + "SentencePiece tokenizer");
        }
        if (!model.path("continuing_subword_prefix").isNull() && model.path("continuing_subword_prefix").isTextual()
                || !model.path("end_of_word_suffix").isNull() && model.path("end_of_word_suffix").isTextual()) {
            throw new IllegalArgumentException(source + ": model.continuing_subword_prefix or model.end_of_word_suffix is "
                    + "set; the decoder changes such tokens' text depending on their position, which JSON-constrained "
                    + "decoding cannot check token by token");
        }
        int[] toByte = byteLevel ? unicodeToByte() : null;
        int size = 0;
        JsonNode vocab = model.path("vocab");
        for (JsonNode t : spec.path("added_tokens")) {
            size = Math.max(size, id(t.path("id"), source) + 1);
        }
        if (vocab.isObject()) {
            for (JsonNode id : vocab) {
                size = Math.max(size, id(id, source) + 1);
            }
        } else if (vocab.isArray()) {
            size = Math.max(size, vocab.size());
        } else {
            throw new IllegalArgumentException(source + ": model.vocab is missing; expected an object of piece -> id "
                    + "(BPE, WordLevel) or an array of [piece, score] (Unigram)");
        }
        byte[][] bytes = new byte[size][];
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                bytes[e.getValue().asInt()] = pieceBytes(e.getKey(), toByte, byteFallback);
            }
        } else {
            for (int i = 0; i < vocab.size(); i++) {
                bytes[i] = pieceBytes(vocab.get(i).path(0).asText(), toByte, byteFallback);
            }
        }
        BitSet special = new BitSet(size);
        for (JsonNode t : spec.path("added_tokens")) {
            int id = t.path("id").asInt();
            special.set(id);
            bytes[id] = null;
        }
        return TokenBytes.wrap(bytes, special);
    }

    private static int id(JsonNode node, String source) {
        if (!node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < 0 || node.asInt() > MAX_ID) {
            throw new IllegalArgumentException(source + ": token id " + node + " is not an integer in [0, " + MAX_ID + "]");
        }
        return node.asInt();
    }

    /** The bytes of one vocabulary piece, or null when a byte-level piece has a character outside GPT-2's table. */
    private static byte[] pieceBytes(String piece, int[] toByte, boolean byteFallback) {
        if (toByte != null) {
            byte[] out = new byte[piece.length()];
            for (int i = 0; i < piece.length(); i++) {
                char c = piece.charAt(i);
                int b = c < toByte.length ? toByte[c] : -1;
                if (b < 0) {
                    return null;
                }
                out[i] = (byte) b;
            }
            return out;
        }
        if (byteFallback && piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            try {
                return new byte[]{(byte) Integer.parseInt(piece.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // not a byte piece: an ordinary piece that happens to look like one
            }
        }
        return piece.replace(SPACE_PIECE, ' ').getBytes(StandardCharsets.UTF_8);
    }

    /**
     * GPT-2's {@code bytes_to_unicode} inverted: printable Latin-1 bytes stand for themselves, the other 68 bytes
     * for U+0100 onwards in byte order.
     */
    static int[] unicodeToByte() {
        int[] table = new int[0x200];
        java.util.Arrays.fill(table, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[printable ? b : next++] = b;
        }
        return table;
    }

    private static boolean hasType(JsonNode node, String type) {
        if (node.path("type").asText("").equals(type)) {
            return true;
        }
        for (JsonNode child : node.path(node.has("decoders") ? "decoders" : "pretokenizers")) {
            if (hasType(child, type)) {
                return true;
            }
        }
        return false;
    }

    private static boolean replacesSpacePiece(JsonNode decoder) {
        if (decoder.path("type").asText("").equals("Replace")
                && decoder.path("pattern").path("String").asText("").equals(String.valueOf(SPACE_PIECE))) {
            return true;
        }
        for (JsonNode child : decoder.path("decoders")) {
            if (replacesSpacePiece(child)) {
                return true;
            }
        }
        return false;
    }
}
