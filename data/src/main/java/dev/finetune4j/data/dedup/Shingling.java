package dev.finetune4j.data.dedup;

/**
 * Which shingles MinHash compares: word n-grams for space-separated text, character n-grams for CJK text
 * (CJK characters are single tokens, so a character n-gram is an n-gram of tokens there too).
 */
public enum Shingling {
    /** Word n-grams everywhere. */
    WORDS,
    /** Character n-grams everywhere (for CJK; Latin words count as one token each). */
    CHARS,
    /** Character n-grams when at least half of the letters are CJK, word n-grams otherwise. */
    AUTO
}
