package dev.finetune4j.eval.text;

/**
 * sacreBLEU's {@code intl} tokenizer (mteval-v14 international) on code points:
 * {@code (\P{N})(\p{P})} becomes {@code "\1 \2 "}, then {@code (\p{P})(\P{N})} becomes {@code " \1 \2"},
 * then {@code (\p{S})} becomes {@code " \1 "}. Unicode categories come from the JDK's Unicode tables.
 * Stateless and thread-safe.
 */
final class IntlTokenizer {
    private IntlTokenizer() {
    }

    static String apply(String line) {
        int[] cps = line.codePoints().toArray();
        cps = punctuationAfterNonNumber(cps);
        cps = punctuationBeforeNonNumber(cps);
        StringBuilder b = new StringBuilder(cps.length + 16);
        for (int cp : cps) {
            if (isSymbol(cp)) {
                b.append(' ').appendCodePoint(cp).append(' ');
            } else {
                b.appendCodePoint(cp);
            }
        }
        return b.toString();
    }

    private static int[] punctuationAfterNonNumber(int[] s) {
        IntBuffer b = new IntBuffer(s.length + 16);
        int i = 0;
        while (i < s.length) {
            if (i + 1 < s.length && !isNumber(s[i]) && isPunctuation(s[i + 1])) {
                b.add(s[i]).add(' ').add(s[i + 1]).add(' ');
                i += 2;
            } else {
                b.add(s[i++]);
            }
        }
        return b.toArray();
    }

    private static int[] punctuationBeforeNonNumber(int[] s) {
        IntBuffer b = new IntBuffer(s.length + 16);
        int i = 0;
        while (i < s.length) {
            if (i + 1 < s.length && isPunctuation(s[i]) && !isNumber(s[i + 1])) {
                b.add(' ').add(s[i]).add(' ').add(s[i + 1]);
                i += 2;
            } else {
                b.add(s[i++]);
            }
        }
        return b.toArray();
    }

    static boolean isNumber(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    static boolean isPunctuation(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    static boolean isSymbol(int cp) {
        return switch (Character.getType(cp)) {
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> true;
            default -> false;
        };
    }

    /** A growable int array. */
    private static final class IntBuffer {
        private int[] data;
        private int size;

        IntBuffer(int capacity) {
            data = new int[capacity];
        }

        IntBuffer add(int v) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, data.length * 2 + 8);
            }
            data[size++] = v;
            return this;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }
}
