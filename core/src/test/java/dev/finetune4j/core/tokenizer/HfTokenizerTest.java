package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-made tokenizers in {@code src/test/resources/tokenizer} (see its README) through DJL's natives. */
class HfTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    // ids in tokenizer/bytebpe: 0-255 the bytes (as GPT-2's byte alphabet), then merges, then special tokens
    private static final long HELLO = 259;
    private static final long SPACE_WORLD = 264;
    private static final long NI = 266;
    private static final long ENDOFTEXT = 267;
    private static final long IM_START = 268;
    private static final long IM_END = 269;

    @Test
    void byteLevelBpeMergesAndRoundTripsEnglishChineseAndEmoji() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("bytebpe"))) {
            assertArrayEquals(new long[]{HELLO, SPACE_WORLD}, tok.encode("hello world"));
            assertArrayEquals(new long[]{NI, 0xE5, 0xA5, 0xBD}, tok.encode("你好"), "你 merged, 好 as its three UTF-8 bytes");
            for (String s : List.of("hello world", "Hello,  World!\n", "您好，请问信用卡年费怎么收取？", "emoji 😀 and 中文 mixed", "")) {
                assertEquals(s, tok.decode(tok.encode(s)), s);
            }
            assertEquals(270, tok.vocabSize());
        }
    }

    @Test
    void aLoneSurrogateIsEncodedAsTheReplacementCharacter() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("bytebpe"))) {
            long[] replacement = tok.encode("\uFFFD");
            assertEquals(3, replacement.length, "U+FFFD's three UTF-8 bytes");
            for (String lone : List.of("\uD800", "\uDC00")) {
                assertArrayEquals(tok.encode("ab\uFFFDcd"), tok.encode("ab" + lone + "cd"), "lone " + (int) lone.charAt(0));
            }
            // a pair stays one character, and a high surrogate at the very end is lone too
            assertEquals("x😀y", tok.decode(tok.encode("x😀y")));
            assertArrayEquals(tok.encode("x\uFFFD"), tok.encode("x\uD83D"));
        }
    }

    @Test
    void readsSpecialTokensAndTheChatTemplateFromTokenizerConfig() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("bytebpe").resolve("tokenizer.json"))) {
            assertEquals(IM_END, tok.eosTokenId().getAsLong());
            assertEquals(ENDOFTEXT, tok.padTokenId().getAsLong());
            assertTrue(tok.bosTokenId().isEmpty());
            assertTrue(tok.chatTemplate() instanceof JinjaChatTemplate, "the model's own template");
            List<ChatMessage> chat = List.of(ChatMessage.system("s"), ChatMessage.user("u"), ChatMessage.assistant("a"));
            assertEquals(ChatTemplate.CHATML.render(chat, true), tok.applyChatTemplate(chat, true), "its template is chatml");
            long[] ids = tok.encodeChat(List.of(ChatMessage.user("hello")), true);
            assertArrayEquals(new long[]{IM_START, 'u', 's', 'e', 'r', '\n', HELLO, IM_END, '\n',
                    IM_START, 'a', 's', 's', 'i', 's', 't',
                    'a', 'n', 't', '\n'}, ids);
            assertEquals("userhellouser", tok.decode(new long[]{IM_START, 'u', 's', 'e', 'r',
                    HELLO, IM_END, 'u', 's', 'e', 'r'}), "special tokens skipped");
        }
    }

    @Test
    void theModelsOwnTemplateComesFromChatTemplateJinjaThenTokenizerConfig(@TempDir Path tmp) throws Exception {
        Path file = copyOf("bytebpe", tmp);
        ObjectNode config = JSON.createObjectNode().put("eos_token", "<|im_end|>");
        config.putObject("bos_token").put("content", "<s>");
        config.putArray("chat_template")
                .add(JSON.createObjectNode().put("name", "tool_use")
                        .put("template", "{{ bos_token }}{{ tools[0].function.name }}:{{ messages[0].content }}{{ effort }}"))
                .add(JSON.createObjectNode().put("name", "default").put("template", "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"));
        JSON.writeValue(tmp.resolve("tokenizer_config.json").toFile(), config);
        List<ChatMessage> hi = List.of(ChatMessage.user("hi"));
        try (HfTokenizer tok = HfTokenizer.load(file)) {
            assertEquals("<s>hi<|im_end|>", tok.applyChatTemplate(hi, true), "the list's default, with the special tokens");
            List<ToolDefinition> tools = List.of(new ToolDefinition("lookup", "finds a record", "{\"type\": \"object\"}"));
            assertEquals("<s>lookup:hi", tok.applyChatTemplate(hi, tools, true),
                    "its tool_use entry when tools are given, as transformers picks");
            JinjaChatTemplate high = ((JinjaChatTemplate) tok.chatTemplate()).withVariables(Map.of("effort", "!"));
            assertEquals("<s>lookup:hi!", high.render(hi, tools, true), "the variables reach the tool_use template");
        }
        Files.writeString(tmp.resolve("chat_template.jinja"), "[{{ messages | length }}]\n");
        try (HfTokenizer tok = HfTokenizer.load(file)) {
            assertEquals("[1]", tok.applyChatTemplate(hi, true), "chat_template.jinja wins, its last newline dropped as jinja2 does");
            assertTrue(tok.chatTemplate().name().contains("chat_template.jinja"), tok.chatTemplate().name());
        }
    }

    @Test
    void aTemplateThatDoesNotParseFailsTheLoadNamingTheFileAndPosition(@TempDir Path tmp) throws Exception {
        Path file = copyOf("bytebpe", tmp);
        Files.writeString(tmp.resolve("chat_template.jinja"), "{% for m in messages %}\n{{ m.content | nosuch }}{% endfor %}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains(tmp.resolve("chat_template.jinja").toAbsolutePath().toString())
                && e.getMessage().contains("line 2, column 16") && e.getMessage().contains("no filter named 'nosuch'")
                && e.getMessage().contains("SftFormat.withTemplate"), e.getMessage());
    }

    @Test
    void aTokenIdBeyondTheIntRangeIsRefusedNamingTheFile(@TempDir Path tmp) throws Exception {
        Path file = copyOf("wordlevel", tmp);
        ObjectNode spec = (ObjectNode) JSON.readTree(file.toFile());
        ((ObjectNode) spec.path("model").path("vocab")).put("zzq", Integer.MAX_VALUE); // vocabSize overflowed to -2^31
        JSON.writeValue(file.toFile(), spec);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("2147483647")
                && e.getMessage().contains("[0, 2147483646]"), e.getMessage());
    }

    @Test
    void aFileTheNativeLibraryRejectsIsNamedWithWhatToDo(@TempDir Path tmp) throws Exception {
        Path file = copyOf("wordlevel", tmp);
        ObjectNode spec = (ObjectNode) JSON.readTree(file.toFile());
        ((ObjectNode) spec.path("model")).put("type", "NoSuchModel");
        JSON.writeValue(file.toFile(), spec);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()) && e.getMessage().contains("tokenizers >= 0.14")
                && e.getCause() != null && e.getMessage().contains(e.getCause().getMessage()), e.getMessage());
    }

    @Test
    void aSplitRegexThatRepeatsARepeatIsRefusedBeforeTheNativeLibrarySeesIt(@TempDir Path tmp) throws Exception {
        Path file = withSplitRegex(tmp, "(a+)+$");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString())
                && e.getMessage().contains("pre_tokenizer.pretokenizers[0].pattern.Regex \"(a+)+$\"")
                && e.getMessage().contains("character 4") && e.getMessage().contains("a++"), e.getMessage());
    }

    @Test
    void aSplitRegexThatRepeatsAlternativesStartingAlikeIsRefused(@TempDir Path tmp) throws Exception {
        Path file = withSplitRegex(tmp, "(a|a)*$");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains("character 5") && e.getMessage().contains("alternatives that start alike"),
                e.getMessage());
    }

    @Test
    void gpt2sPatternAsASplitEncodesAsTheBuiltInByteLevelRegexDoes(@TempDir Path tmp) throws Exception {
        Path file = withSplitRegex(tmp, "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
        String text = "hello world, it's 2026!  你好 \uD83D\uDE00";
        try (HfTokenizer builtIn = HfTokenizer.load(resource("bytebpe")); HfTokenizer split = HfTokenizer.load(file)) {
            assertArrayEquals(builtIn.encode(text), split.encode(text));
        }
    }

    /** tokenizer/bytebpe with its pre-tokenizer replaced by a Split on {@code regex}, then bytes without a regex. */
    private Path withSplitRegex(Path tmp, String regex) throws Exception {
        Path file = copyOf("bytebpe", tmp);
        ObjectNode spec = (ObjectNode) JSON.readTree(file.toFile());
        ObjectNode split = JSON.createObjectNode().put("type", "Split").put("behavior", "Isolated").put("invert", false);
        split.putObject("pattern").put("Regex", regex);
        ObjectNode bytes = JSON.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", false);
        ObjectNode sequence = spec.putObject("pre_tokenizer").put("type", "Sequence");
        sequence.putArray("pretokenizers").add(split).add(bytes);
        JSON.writeValue(file.toFile(), spec);
        return file;
    }

    private Path copyOf(String name, Path tmp) throws Exception {
        Path file = tmp.resolve("tokenizer.json");
        Files.copy(resource(name).resolve("tokenizer.json"), file);
        return file;
    }

    @Test
    void neverTruncatesLongTexts() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("bytebpe"))) {
            assertEquals(2000, tok.encode("hello".repeat(2000)).length);
        }
    }

    @Test
    void wordLevelTokenizerHandlesUnknownWordsAndChinese() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(resource("wordlevel"))) {
            assertArrayEquals(new long[]{3, 4, 7, 5, 6}, tok.encode("hello world , 你好 世界"));
            assertArrayEquals(new long[]{9, 0}, tok.encode("bank unknownword"));
            assertEquals("hello world", tok.decode(new long[]{1, 3, 4, 2}));
            assertEquals("你好 世界", tok.decode(new long[]{5, 6}));
            assertEquals(10, tok.vocabSize());
            assertEquals(1, tok.bosTokenId().getAsLong());
            assertEquals(2, tok.eosTokenId().getAsLong());
            assertTrue(tok.padTokenId().isEmpty());
            // the model's own template, which (unlike CHATML) adds no generation prompt: as transformers renders it
            assertEquals("<|im_start|>user\nhi<|im_end|>\n", tok.applyChatTemplate(List.of(ChatMessage.user("hi")), true));
        }
    }

    @Test
    void useAfterCloseThrowsInsteadOfCrashing() throws Exception {
        HfTokenizer tok = HfTokenizer.load(resource("wordlevel"));
        tok.close();
        assertThrows(IllegalStateException.class, () -> tok.encode("hello"));
    }

    @Test
    void missingTokenizerFileIsExplained() {
        var e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(Path.of("/nonexistent")));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("save_pretrained"), e.getMessage());
    }

    private Path resource(String name) throws Exception {
        return Path.of(getClass().getResource("/tokenizer/" + name).toURI());
    }
}
