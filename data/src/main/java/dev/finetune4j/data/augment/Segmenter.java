package dev.finetune4j.data.augment;

import dev.finetune4j.data.clean.Scripts;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.cn.smart.HMMChineseTokenizer;
import org.apache.lucene.analysis.tokenattributes.OffsetAttribute;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits text into words and joins them back: Chinese through Lucene's smartcn HMM segmenter, other text at
 * whitespace. Words keep their original spelling (offsets into the input). Thread-safe (a tokenizer per call).
 */
public final class Segmenter {
    private Segmenter() {
    }

    /**
     * The words of {@code text}, punctuation included as separate words for Chinese.
     *
     * @param text the text
     * @return the words in order
     */
    public static List<String> words(String text) {
        if (Scripts.cjkShare(text) == 0) {
            return List.of(text.strip().split("\\s+"));
        }
        List<String> out = new ArrayList<>();
        try (Tokenizer t = new HMMChineseTokenizer()) {
            OffsetAttribute offset = t.addAttribute(OffsetAttribute.class);
            t.setReader(new StringReader(text));
            t.reset();
            while (t.incrementToken()) {
                out.add(text.substring(offset.startOffset(), offset.endOffset()));
            }
            t.end();
        } catch (IOException e) {
            throw new UncheckedIOException("segmenting an in-memory string failed", e);
        }
        return out;
    }

    /**
     * Joins words, with a space only between two words of space-separated scripts.
     *
     * @param words the words
     * @return the text
     */
    public static String join(List<String> words) {
        StringBuilder sb = new StringBuilder();
        for (String w : words) {
            if (w.isEmpty()) {
                continue;
            }
            if (!sb.isEmpty() && spaced(sb.codePointBefore(sb.length())) && spaced(w.codePointAt(0))) {
                sb.append(' ');
            }
            sb.append(w);
        }
        return sb.toString();
    }

    private static boolean spaced(int cp) {
        return !Scripts.isCjk(cp) && !(cp >= 0x3000 && cp <= 0x303F) && !(cp >= 0xFF00 && cp <= 0xFFEF);
    }
}
