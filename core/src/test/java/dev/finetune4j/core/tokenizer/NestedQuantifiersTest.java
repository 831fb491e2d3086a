package dev.finetune4j.core.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NestedQuantifiersTest {

    /** The pre-tokenizer patterns of published tokenizer.json files, as they are written there. */
    @ParameterizedTest
    @ValueSource(strings = {
            // GPT-2
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            // Llama 3
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            // Qwen2
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            // GPT-4o's o200k, as Hugging Face ports write it
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                    + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                    + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            // DeepSeek-V3's three splits
            "\\p{N}{1,3}",
            "[一-龥\u3040-ゟ゠-ヿ]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                    + "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            // repeats that cannot be backtracked into, fixed repeats, escaped parentheses, literal braces
            "(a++)+", "(?>a+)+", "(ab)+", "(a+){2}", "\\(a+\\)+", "a{x}+", "[(+*]+", "[]a+]+", "(?#a+*)b",
            // alternations under a repeat whose branches start differently, or that are not repeated
            "(?:'s|'t|'re|'ve)*", "(?:ab|ac)+", "(?:a|b)*c", "(a|a)b", "(a|a){3}", "(?>a|a)*", "(?:\\.|x)*", "x|x*",
            "(?<n>a|b)*", "(?i:ab|ac)*", "(?i)(?:a|b)*", "(?=a|b)c*"
    })
    void realTokenizersAndSafeShapesPass(String regex) {
        assertEquals(-1, NestedQuantifiers.find(regex), regex);
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "(a+)+$; 4",
            "(?:x?y*)*; 8",
            "(\\s*)*; 5",
            "((ab)*c)+; 8",
            "(?:(?:a+)b)*; 11",
            "(a|b*)+; 6",
            "(?i:a{1,3})*; 11",
            "x(a*){2,}; 5",
            "a{1,3}+; 6", // Ruby syntax: the '+' repeats the interval
            "(a{2,}?)+?; 8",
            "(a|a)*; 5",
            "(?:a|ab)+; 8",
            "(?:\\s|x)+; 8",
            "(?:x|[ab])*; 10",
            "(?:a*|b)c(x|x)+; 14",
            "(?:(?:a|a)b)*; 12",
            "(?:.|\\n)*; 8"
    })
    void aPartRepeatedWithoutBoundThatItselfVariesIsFoundAtItsQuantifier(String regex, int at) {
        assertEquals(at, NestedQuantifiers.find(regex), regex);
    }
}
