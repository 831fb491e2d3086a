package dev.finetune4j.serve;

import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bytes of the served tokenizer's tokens, read from its {@code tokenizer.json} by the first request that needs
 * them (JSON mode's masks, the {@code bytes} of log-probabilities), so servers whose clients ask for neither pay
 * nothing.
 *
 * <p>Thread safety: safe for concurrent requests; the vocabulary is read once.
 */
final class ServedVocabulary {
    private static final Logger LOG = LoggerFactory.getLogger(ServedVocabulary.class);

    private final Tokenizer tokenizer;
    private TokenBytes bytes; // guarded by this
    private String unavailable; // guarded by this: why there are no bytes, once known

    /** @param tokenizer the model's tokenizer, or null */
    ServedVocabulary(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * The vocabulary's bytes.
     *
     * @param field the request field that needs them, for the 400
     * @throws ApiException 400 when the model has no tokenizer, or one whose tokens' bytes cannot be read
     */
    synchronized TokenBytes require(String field) {
        TokenBytes b = bytesOrNull();
        if (b == null) {
            throw ApiException.invalid(field, field + " is unavailable for this model: " + unavailable);
        }
        return b;
    }

    /** The vocabulary's bytes, or null when there are none (see {@link #require}). */
    synchronized TokenBytes bytesOrNull() {
        if (bytes == null && unavailable == null) {
            if (tokenizer == null) {
                unavailable = "it has no tokenizer (no tokenizer.json in its folder) to tell what its tokens spell";
            } else {
                try {
                    long start = System.nanoTime();
                    bytes = TokenBytes.of(tokenizer);
                    LOG.info("read the bytes of {} tokens in {} ms", bytes.size(), (System.nanoTime() - start) / 1_000_000);
                } catch (IllegalArgumentException e) {
                    unavailable = e.getMessage();
                }
            }
        }
        return bytes;
    }
}
