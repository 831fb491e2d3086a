package dev.finetune4j.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * The built-in demo model's tokenizer: ids 0-255 are the UTF-8 bytes of the text, then {@value #BOS} = BOS,
 * {@value #EOS} = EOS and {@value #PAD} = PAD; the vocabulary is {@value #VOCAB_SIZE}. Any Unicode text
 * round-trips; decoding a cut-off UTF-8 sequence yields U+FFFD instead of failing.
 */
public final class ByteLevelTokenizer implements Tokenizer {
    /** The beginning-of-sequence id. */
    public static final int BOS = 256;
    /** The end-of-sequence id. */
    public static final int EOS = 257;
    /** The padding id. */
    public static final int PAD = 258;
    /** The vocabulary size: 256 bytes and three special tokens. */
    public static final int VOCAB_SIZE = 259;

    private final ChatTemplate template;

    /** A tokenizer with the {@link ChatTemplate#SIMPLE} chat template. */
    public ByteLevelTokenizer() {
        this(ChatTemplate.SIMPLE);
    }

    /**
     * A tokenizer that renders conversations with {@code template}.
     *
     * @param template the chat template
     */
    public ByteLevelTokenizer(ChatTemplate template) {
        this.template = template;
    }

    @Override
    public long[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        long[] ids = new long[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public String decode(long[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length);
        for (long id : ids) {
            if (id < 0 || id >= VOCAB_SIZE) {
                throw new IllegalArgumentException("token id " + id + " is outside the byte-level vocabulary [0, " + VOCAB_SIZE + ")");
            }
            if (id < 256) {
                out.write((int) id);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public OptionalLong bosTokenId() {
        return OptionalLong.of(BOS);
    }

    @Override
    public OptionalLong eosTokenId() {
        return OptionalLong.of(EOS);
    }

    @Override
    public OptionalLong padTokenId() {
        return OptionalLong.of(PAD);
    }

    @Override
    public ChatTemplate chatTemplate() {
        return template;
    }
}
