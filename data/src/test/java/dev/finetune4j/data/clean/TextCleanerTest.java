package dev.finetune4j.data.clean;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertNull;

class TextCleanerTest {
    private final TextCleaner cleaner = TextCleaner.defaults();

    @Test
    void fullWidthLettersAndDigitsBecomeHalfWidthButChinesePunctuationStays() {
        assertEquals("价格是100元，型号ABC。", cleaner.clean("价格是１００元，型号ＡＢＣ。"));
        assertEquals("Hello, world!", cleaner.clean("Ｈｅｌｌｏ，　ｗｏｒｌｄ！"));
    }

    @Test
    void htmlTagsScriptsAndEntities() {
        assertEquals("Title\nTom & Jerry < 3 “quoted” ©",
                cleaner.clean("<h1>Title</h1><script>alert(1)</script><p>Tom &amp; Jerry &lt; 3 &ldquo;quoted&rdquo; &#169;</p>"));
        assertEquals("a < b and c > d", cleaner.clean("a < b and c > d"));
    }

    @Test
    void whitespaceAndControlCharacters() {
        assertEquals("one two\nthree\n\nfour", cleaner.clean("  one \t two  \r\nthree\u0007\u200B\n\n\n\nfour  "));
    }

    @Test
    void qualityFilterRules() {
        QualityFilter f = new QualityFilter(QualityConfig.defaults().withChars(5, 100).withMinCjkShare(0.5));
        assertEquals("too short (chars)", f.check("你好"));
        assertEquals("too little CJK", f.check("hello world, this is English"));
        assertNull(f.check("今天天气很好，我们去公园散步。"));
        QualityFilter g = new QualityFilter(QualityConfig.defaults());
        assertEquals("repetitive", g.check("buy now buy now buy now buy now buy now buy now"));
        assertEquals("too many symbols", g.check("!!!! ???? #### $$$$ ok"));
        assertEquals("too few tokens", new QualityFilter(QualityConfig.defaults().withTokens(5, 10)).check("two words"));
        assertNull(g.check("A perfectly ordinary sentence about data."));
    }

    @Test
    void tokensSplitCjkIntoCharacters() {
        assertEquals(6, Tokens.count("我爱北京 Hello world"));
        assertEquals(2, Tokens.count("HELLO, hello"));
    }

    @Test
    void blocksAndCommentsAreRemovedLikeTheRegexDid() {
        TextCleaner c = TextCleaner.defaults();
        assertEquals("a b", c.clean("a <SCRIPT type=x>x<y</script\n> b"));
        assertEquals("a b <!-- open", c.clean("a <!-- one --> b <!-- open"));
        assertEquals("x", c.clean("<scripts>x</script>"), "not a script block: both tags are stripped as tags");
        assertEquals("keep <style never closed", c.clean("keep <style never closed"));
        assertEquals("x y", c.clean("x <style>p{}</style > y"));
    }

    /** STYLE.md lesson 18: the cleaner is linear on text that made its lazy regexes and neighbour scans quadratic. */
    @Test
    void cleaningTakesLinearTimeOnHostileText() {
        Map<String, String> hostile = new LinkedHashMap<>();
        hostile.put("full-width punctuation", "！".repeat(100_000));
        hostile.put("unclosed comments", "<!--".repeat(25_000));
        hostile.put("unclosed scripts", "<script>".repeat(12_500));
        hostile.put("unclosed style openers", "<style".repeat(16_000));
        hostile.put("closing tags without openers", "</script>".repeat(11_000));
        hostile.put("entities", "&#".repeat(50_000));
        hostile.put("tags", "<a ".repeat(33_000));
        TextCleaner c = TextCleaner.defaults();
        hostile.forEach((shape, text) -> assertTimeoutPreemptively(Duration.ofSeconds(2), () -> c.clean(text),
                () -> "cleaning 100k characters of " + shape + " is not linear"));
    }
}
