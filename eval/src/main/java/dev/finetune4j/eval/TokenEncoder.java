package dev.finetune4j.eval;

/**
 * Text to token ids, so that eval's ONNX models can use any tokenizer (core's {@code HfTokenizer}, DJL's,
 * or a lambda). Implementations must be thread-safe.
 */
@FunctionalInterface
public interface TokenEncoder {
    /**
     * The token ids of {@code text}, special tokens included as the model expects them.
     *
     * @param text the text to encode
     * @return the token ids
     */
    long[] encode(String text);
}
