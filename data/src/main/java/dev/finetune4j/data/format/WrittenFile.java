package dev.finetune4j.data.format;

/**
 * A completed output file, as recorded in the provenance manifest.
 *
 * @param file    the file name
 * @param records how many records it holds
 * @param bytes   its size
 * @param sha256  the hex SHA-256 of its bytes, or {@code null} for a folder of part files written by Spark (whose
 *                split into parts depends on the cluster)
 */
public record WrittenFile(String file, long records, long bytes, String sha256) {
}
