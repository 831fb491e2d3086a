package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TokenBytes against the real tokenizers (DJL's Rust natives): token bytes of encode(text) concatenate to text. */
class TokenBytesTest {
    private static final List<String> TEXTS = List.of("hello world", "{\"a\": 12, \"b\": [true, null]}", "Hello,  World!\n",
            "您好，请问信用卡年费怎么收取？", "emoji 😀 and 中文 mixed", "tab\there \"quoted\" back\\slash", "x", "  lead",
            "ÿ þ ý \u0001 \u007f end", "{\"你\": \"好\"}");

    static Path resource(String name) throws Exception {
        return Path.of(TokenBytesTest.class.getResource("/tokenizer/" + name + "/tokenizer.json").toURI());
    }

    private static byte[] concat(TokenBytes vocab, long[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (long id : ids) {
            out.writeBytes(vocab.bytes((int) id));
        }
        return out.toByteArray();
    }

    /** Fixed texts plus random strings over ASCII, JSON punctuation, Latin-1, CJK and emoji. */
    static List<String> texts(long seed, int count) {
        List<String> texts = new ArrayList<>(TEXTS);
        Random random = new Random(seed);
        String alphabet = "abcdefghij {}[]\":,\\\n\t0123456789éüß你好世界😀\u00a0";
        for (int i = 0; i < count; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + random.nextInt(30);
            for (int k = 0; k < n; k++) {
                sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, random.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            }
            texts.add(sb.toString());
        }
        return texts;
    }

    @Test
    void byteLevelBpeTokenBytesConcatenateToTheText() throws Exception {
        TokenBytes vocab = TokenBytes.fromTokenizerJson(resource("bytebpe"));
        assertEquals(270, vocab.size());
        assertArrayEquals(" world".getBytes(StandardCharsets.UTF_8), vocab.bytes(264));
        assertArrayEquals(new byte[]{(byte) 0xE4, (byte) 0xBD, (byte) 0xA0}, vocab.bytes(266), "你 as its three bytes");
        assertArrayEquals(new byte[]{0x0A}, vocab.bytes(10), "Ċ is the newline byte");
        assertTrue(vocab.isSpecial(267) && vocab.isSpecial(269));
        assertNull(vocab.bytes(268), "added tokens have no bytes inside text");
        try (HfTokenizer tok = HfTokenizer.load(resource("bytebpe"))) {
            for (String text : texts(1, 300)) {
                assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), concat(vocab, tok.encode(text)), text);
            }
        }
    }

    @Test
    void sentencePieceTokenBytesConcatenateToTheTextWithItsPrependedSpace() throws Exception {
        TokenBytes vocab = TokenBytes.fromTokenizerJson(resource("json-sentencepiece"));
        assertArrayEquals(new byte[]{(byte) 0xE4}, vocab.bytes(3 + 0xE4), "<0xE4> is one byte");
        assertTrue(vocab.isSpecial(0) && vocab.isSpecial(1) && vocab.isSpecial(2));
        try (HfTokenizer tok = HfTokenizer.load(resource("json-sentencepiece"))) {
            long[] hello = tok.encode("hello world");
            assertEquals(2, hello.length, "merged into ▁hello ▁world");
            for (String text : texts(2, 300)) {
                // the normalizer prepends ▁ to the whole text; the decoder's Strip drops it again
                assertArrayEquals((" " + text).getBytes(StandardCharsets.UTF_8), concat(vocab, tok.encode(text)), text);
            }
        }
    }

    @Test
    void byteLevelTokenizerVocabularyIsItsBytes() {
        TokenBytes vocab = TokenBytes.byteLevel();
        ByteLevelTokenizer tok = new ByteLevelTokenizer();
        assertEquals(tok.vocabSize(), vocab.size());
        for (String text : texts(3, 100)) {
            assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), concat(vocab, tok.encode(text)), text);
        }
        assertTrue(vocab.isSpecial(ByteLevelTokenizer.EOS) && vocab.isSpecial(ByteLevelTokenizer.BOS) && vocab.isSpecial(ByteLevelTokenizer.PAD));
        assertFalse(vocab.isSpecial(255));
    }

    @Test
    void gpt2TableIsABijectionOfTheBytes() {
        int[] table = TokenizerJsonBytes.unicodeToByte();
        boolean[] seen = new boolean[256];
        for (int c = 0; c < table.length; c++) {
            if (table[c] >= 0) {
                assertFalse(seen[table[c]]);
                seen[table[c]] = true;
            }
        }
        for (boolean s : seen) {
            assertTrue(s);
        }
        assertEquals(' ', table['Ġ']);
        assertEquals('\n', table['Ċ']);
    }

    @Test
    void wordPieceDecoderIsRefusedWithTheReason() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TokenBytes.fromTokenizerJson(resource("wordlevel")));
        assertTrue(e.getMessage().contains("WordPiece") && e.getMessage().contains("neighbours"), e.getMessage());
    }

    @Test
    void paddingAddsIdsWithoutBytes(@TempDir Path dir) throws Exception {
        ObjectNode spec = (ObjectNode) new ObjectMapper().readTree(resource("bytebpe").toFile());
        Files.writeString(dir.resolve("tokenizer.json"), spec.toString());
        TokenBytes vocab = TokenBytes.fromTokenizerJson(dir).padded(300);
        assertEquals(300, vocab.size());
        assertNull(vocab.bytes(299));
        assertThrows(IllegalArgumentException.class, () -> vocab.padded(10));
    }

    @Test
    void metaspaceUnigramVocabulariesAndUnknownByteLevelPiecesAreRead() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode unigram = json.createObjectNode();
        unigram.putObject("decoder").put("type", "Metaspace").put("replacement", "\u2581");
        ObjectNode model = unigram.putObject("model").put("type", "Unigram");
        var vocab = model.putArray("vocab");
        vocab.addArray().add("<pad>").add(0.0);
        vocab.addArray().add("\u2581hello").add(-1.0);
        vocab.addArray().add("<0x41>").add(-2.0);
        unigram.putArray("added_tokens").addObject().put("id", 0).put("content", "<pad>").put("special", true);
        TokenBytes t = TokenizerJsonBytes.read(unigram, "unigram");
        assertArrayEquals(" hello".getBytes(StandardCharsets.UTF_8), t.bytes(1));
        assertArrayEquals("<0x41>".getBytes(StandardCharsets.UTF_8), t.bytes(2), "no byte fallback in this model: a literal piece");
        assertTrue(t.isSpecial(0));

        ObjectNode byteLevel = json.createObjectNode();
        byteLevel.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers").addObject().put("type", "ByteLevel");
        byteLevel.putObject("model").put("type", "BPE").putObject("vocab").put("\u0120x", 0).put("\u4e2d", 1);
        TokenBytes b = TokenizerJsonBytes.read(byteLevel, "bytelevel");
        assertArrayEquals(" x".getBytes(StandardCharsets.UTF_8), b.bytes(0), "ByteLevel found inside a Sequence");
        assertNull(b.bytes(1), "a character outside GPT-2's byte table has no bytes and is never allowed");
    }
}
