package dev.finetune4j.spark;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The SHA-256 and size of a file on any Hadoop file system, as the manifests record them.
 *
 * @param sha256 the lowercase hex digest
 * @param bytes  the file's size
 */
record FileHash(String sha256, long bytes) {
    static FileHash of(FileSystem fs, Path path) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        try (InputStream in = new DigestInputStream(fs.open(path), digest)) {
            long bytes = in.transferTo(OutputStream.nullOutputStream());
            return new FileHash(HexFormat.of().formatHex(digest.digest()), bytes);
        }
    }
}
