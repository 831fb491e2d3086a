package dev.finetune4j.data.pii;

import java.io.Serializable;
import java.util.Arrays;

/** How a found value is replaced. */
public sealed interface Strategy extends Serializable {
    /** {@code [EMAIL]}, {@code [PHONE]}...: the type's placeholder. */
    record Placeholder() implements Strategy {
    }

    /**
     * Masks the middle of the value with {@code maskChar}, keeping a few leading and trailing characters (e.g.
     * {@code 138****5678}, {@code z***@example.com}); separators stay so the shape stays readable.
     *
     * @param maskChar the character written over the hidden characters, e.g. {@code '*'}
     */
    record Mask(char maskChar) implements Strategy {
    }

    /**
     * A keyed hash (HMAC-SHA256, first 12 hex digits) of the normalized value, e.g. {@code [EMAIL:4f1c0a9b3e2d]}:
     * the same value always maps to the same token, so records stay linkable without revealing the value.
     * Keep the key secret; without it the tokens cannot be reversed by trying candidate values.
     *
     * @param key the secret HMAC key, at least 16 bytes (copied)
     */
    record KeyedHash(byte[] key) implements Strategy {
        /**
         * Checks that the key has at least 16 bytes and copies it, so later changes to the caller's array have no
         * effect.
         */
        public KeyedHash {
            if (key == null || key.length < 16) {
                throw new IllegalArgumentException("a keyed hash needs a secret key of at least 16 bytes, found "
                        + (key == null ? "null" : key.length + " bytes"));
            }
            key = key.clone();
        }

        /**
         * The secret key.
         *
         * @return a copy of the key
         */
        @Override
        public byte[] key() {
            return key.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof KeyedHash k && Arrays.equals(key, k.key);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(key);
        }

        @Override
        public String toString() {
            return "KeyedHash[key=<secret>]";
        }
    }
}
