package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The built-in byte-level tokenizer as Hugging Face tokenizer files, so that a model folder of the quickstart
 * (its base, its merged model) carries its tokenizer like any other: a BPE model with one token per byte and no
 * merges, over GPT-2's byte-to-character table, gives id = byte value, then BOS, EOS and PAD as special tokens.
 */
public final class ByteLevelTokenizerFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ByteLevelTokenizerFiles() {
    }

    /**
     * Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}.
     *
     * @param dir an existing folder
     * @throws IOException when a file cannot be written
     */
    public static void write(Path dir) throws IOException {
        ObjectNode t = JSON.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        ArrayNode added = t.putArray("added_tokens");
        special(added, ByteLevelTokenizer.BOS, "<s>");
        special(added, ByteLevelTokenizer.EOS, "</s>");
        special(added, ByteLevelTokenizer.PAD, "<pad>");
        t.putNull("normalizer");
        t.set("pre_tokenizer", byteLevel());
        t.putNull("post_processor");
        t.set("decoder", byteLevel());
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        char[] chars = byteChars();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(chars[b]), b);
        }
        model.putArray("merges");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer.json").toFile(), t);

        ObjectNode c = JSON.createObjectNode();
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        c.put("bos_token", "<s>");
        c.put("eos_token", "</s>");
        c.put("pad_token", "<pad>");
        c.put("model_max_length", 1 << 20);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), c);
    }

    private static void special(ArrayNode added, int id, String content) {
        ObjectNode n = added.addObject();
        n.put("id", id);
        n.put("content", content);
        n.put("single_word", false);
        n.put("lstrip", false);
        n.put("rstrip", false);
        n.put("normalized", false);
        n.put("special", true);
    }

    private static ObjectNode byteLevel() {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", false);
        n.put("trim_offsets", false);
        n.put("use_regex", false);
        return n;
    }

    /**
     * GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the other 68 bytes map to
     * U+0100 onwards in byte order.
     */
    static char[] byteChars() {
        char[] out = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = printable ? (char) b : (char) next++;
        }
        return out;
    }
}
