package dev.finetune4j.core.generate.json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

/**
 * A made-up byte-level vocabulary shaped like a real one: every single byte, JSON punctuation runs, whitespace and
 * indentation runs, numbers, escapes, words with and without spaces and quotes, CJK and emoji, and pieces of
 * multi-byte characters; some byte strings appear under two ids. The last two ids are special, the last is EOS.
 */
final class SyntheticVocab {
    private SyntheticVocab() {
    }

    static int eos(TokenBytes vocab) {
        return vocab.size() - 1;
    }

    static TokenBytes build(int size, long seed) {
        Random random = new Random(seed);
        List<byte[]> pieces = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            pieces.add(new byte[]{(byte) b});
        }
        for (String s : List.of("{\"", "\":", "\": ", "\", \"", "\",", "\"}", "}}", "},", "}]", "]}", "[{", "[]", "{}",
                " \"", "\"\n", "\n  ", "\n    \"", ",\n", ", ", " {", "\\n", "\\\"", "\\u", "\\u00", "\\uD83D",
                "\\uDE00", "true", "false", "null", " true", ".5", "e-", "-1", "1e", "\":\"", "\":[", "\":{\"", "\":1",
                "\r\n", "\t\t", "name", "\"name\":", " \"age\": ", "tags", "kind", "\"v\":", "kids", "é\"", "\"é",
                "\\\\", "\\/", "}\n", "\n}", "\":\"cat\"}", "大熊猫", "\"dog\"", "\u007f", "a\u0001b")) {
            pieces.add(bytes(s));
        }
        for (int n = 1; n <= 64; n++) {
            pieces.add(bytes(" ".repeat(n)));
            if (n <= 8) {
                pieces.add(bytes("\n" + " ".repeat(n * 2)));
            }
        }
        for (int i = 0; i < 1000; i++) {
            pieces.add(bytes(Integer.toString(i)));
        }
        String unicode = "é你好世界中文😀🎉ßü\u00a0\u2028";
        while (pieces.size() < size - 2) {
            int kind = random.nextInt(10);
            String word = word(random);
            byte[] piece = switch (kind) {
                case 0, 1, 2 -> bytes(word);
                case 3, 4 -> bytes(" " + word);
                case 5 -> bytes(random.nextBoolean() ? word + "\"" : "\"" + word);
                case 6 -> bytes(word + "\":");
                case 7 -> {
                    int cp = unicode.codePointAt(unicode.offsetByCodePoints(0, random.nextInt(unicode.codePointCount(0, unicode.length()))));
                    byte[] whole = bytes(new String(Character.toChars(cp)));
                    int from = random.nextInt(whole.length);
                    int to = from + 1 + random.nextInt(whole.length - from);
                    yield random.nextBoolean() ? whole : java.util.Arrays.copyOfRange(whole, from, to);
                }
                case 8 -> bytes(word + unicode.substring(0, 1 + random.nextInt(4)));
                default -> bytes(random.nextBoolean() ? word.toUpperCase() : word + random.nextInt(100));
            };
            pieces.add(piece);
        }
        byte[][] all = new byte[size][];
        for (int i = 0; i < size - 2; i++) {
            all[i] = pieces.get(i);
        }
        BitSet special = new BitSet();
        special.set(size - 2);
        special.set(size - 1);
        return TokenBytes.of(all, special);
    }

    private static String word(Random random) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + random.nextInt(9);
        for (int i = 0; i < n; i++) {
            sb.append((char) ('a' + random.nextInt(26)));
        }
        return sb.toString();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
