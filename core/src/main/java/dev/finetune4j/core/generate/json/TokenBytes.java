package dev.finetune4j.core.generate.json;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The exact bytes each token id adds to the decoded text, and which ids are special or added tokens (never
 * allowed inside constrained output). A grammar constraint needs this because it checks text byte by byte while
 * the model chooses whole tokens: a token may end inside a UTF-8 character or a JSON escape.
 *
 * <pre>{@code
 * TokenBytes vocab = TokenBytes.fromTokenizerJson(Path.of("Qwen2.5-0.5B/tokenizer.json"));
 * byte[] b = vocab.bytes(1234);          // e.g. the piece "Ġ[" gives the bytes of " ["
 * boolean special = vocab.isSpecial(151643);
 * }</pre>
 *
 * <p>Ids with no bytes (unused embedding rows, pieces that cannot be decoded on their own) and special ids are
 * never allowed by a {@link JsonConstraint}. Immutable and thread-safe: build it once per tokenizer and share it.
 */
public final class TokenBytes {
    private final byte[][] bytes;
    private final BitSet special;
    private volatile TokenIndex index;

    private TokenBytes(byte[][] bytes, BitSet special) {
        this.bytes = bytes;
        this.special = special;
    }

    /**
     * A vocabulary from explicit bytes (tests, synthetic vocabularies, tokenizers read elsewhere).
     *
     * @param bytes   per id its bytes, or null for an id that never appears inside text; copied
     * @param special ids that are special or added tokens; copied
     * @return the vocabulary, of size {@code bytes.length}
     */
    public static TokenBytes of(byte[][] bytes, BitSet special) {
        byte[][] copy = new byte[bytes.length][];
        for (int i = 0; i < bytes.length; i++) {
            copy[i] = bytes[i] == null ? null : bytes[i].clone();
        }
        if (special.length() > bytes.length) {
            throw new IllegalArgumentException("special id " + (special.length() - 1) + " is outside the vocabulary of "
                    + bytes.length + " ids");
        }
        return new TokenBytes(copy, (BitSet) special.clone());
    }

    /**
     * The vocabulary of {@link ByteLevelTokenizer}: ids 0-255 are the bytes themselves, BOS, EOS and PAD special.
     *
     * @return the byte vocabulary of {@value ByteLevelTokenizer#VOCAB_SIZE} ids
     */
    public static TokenBytes byteLevel() {
        byte[][] bytes = new byte[ByteLevelTokenizer.VOCAB_SIZE][];
        for (int b = 0; b < 256; b++) {
            bytes[b] = new byte[]{(byte) b};
        }
        BitSet special = new BitSet();
        special.set(ByteLevelTokenizer.BOS);
        special.set(ByteLevelTokenizer.EOS);
        special.set(ByteLevelTokenizer.PAD);
        return new TokenBytes(bytes, special);
    }

    /**
     * Reads a Hugging Face {@code tokenizer.json}: byte-level BPE (GPT-2, Llama 3, Qwen2) or SentencePiece-style
     * vocabularies ({@code ▁} for a space, {@code <0xNN>} byte-fallback pieces: Llama 2, Mistral v0.1). See
     * {@link TokenizerJsonBytes} for what is refused.
     *
     * @param file the {@code tokenizer.json} file, or a model folder holding one
     * @return the vocabulary, sized to the largest id + 1
     */
    public static TokenBytes fromTokenizerJson(Path file) {
        return TokenizerJsonBytes.read(file);
    }

    /**
     * The vocabulary of a tokenizer whose tokens' bytes are known: an {@link HfTokenizer} (its {@code tokenizer.json})
     * or the {@link ByteLevelTokenizer}.
     *
     * @param tokenizer the model's tokenizer
     * @return its vocabulary
     * @throws IllegalArgumentException for another kind of tokenizer, whose tokens' bytes cannot be read
     */
    public static TokenBytes of(Tokenizer tokenizer) {
        return switch (tokenizer) {
            case HfTokenizer hf -> fromTokenizerJson(hf.file());
            case ByteLevelTokenizer b -> byteLevel();
            default -> throw new IllegalArgumentException("cannot read the bytes of " + tokenizer.getClass().getName()
                    + "'s tokens; JSON mode reads them from an HfTokenizer's tokenizer.json or the ByteLevelTokenizer. "
                    + "Build the vocabulary yourself with TokenBytes.of(bytes, special)");
        };
    }

    /** Package-private: wraps arrays built by a reader without copying them. */
    static TokenBytes wrap(byte[][] bytes, BitSet special) {
        return new TokenBytes(bytes, special);
    }

    /**
     * The same vocabulary covering {@code size} ids, for a model whose embedding has more rows than the tokenizer
     * has ids (the extra ids have no bytes and are never allowed).
     *
     * @param size the number of ids, at least {@link #size()}
     * @return the padded vocabulary
     */
    public TokenBytes padded(int size) {
        if (size < bytes.length) {
            throw new IllegalArgumentException("cannot pad a vocabulary of " + bytes.length + " ids to " + size + " ids; "
                    + "pass the model's vocabulary size, which is at least the tokenizer's");
        }
        return new TokenBytes(Arrays.copyOf(bytes, size), special);
    }

    /**
     * The number of ids, special ones included.
     *
     * @return the vocabulary size
     */
    public int size() {
        return bytes.length;
    }

    /**
     * The bytes of {@code id} in the decoded text.
     *
     * @param id a token id in [0, size)
     * @return a copy of its bytes, or null when the id never appears inside text
     */
    public byte[] bytes(int id) {
        byte[] b = bytes[id];
        return b == null ? null : b.clone();
    }

    /** Package-private, no copy: the grammar code reads these in its hot loops and never writes them. */
    byte[] bytesShared(int id) {
        return bytes[id];
    }

    /** The tries and plain-content set for masks, built on first use (a few hundred ms for 150k tokens). */
    /**
     * Builds the index that masks are computed from now, instead of in the first {@link JsonConstraint} on this
     * vocabulary (about a second for 150,000 tokens): a server calls it before the first request waits for it.
     *
     * @return this vocabulary
     */
    public TokenBytes prepared() {
        index();
        return this;
    }

    TokenIndex index() {
        TokenIndex i = index;
        if (i == null) {
            synchronized (this) {
                i = index;
                if (i == null) {
                    i = new TokenIndex(this);
                    index = i;
                }
            }
        }
        return i;
    }

    /**
     * Whether {@code id} is a special or added token (from {@code added_tokens}), which constrained output never holds.
     *
     * @param id a token id in [0, size)
     * @return true for a special or added token
     */
    public boolean isSpecial(int id) {
        return special.get(id);
    }
}
