package dev.finetune4j.data.pipeline;

import java.io.Serializable;

/**
 * One input as recorded in the manifest.
 *
 * @param file        the input's name
 * @param sha256      hex SHA-256 of its bytes
 * @param bytes       its size
 * @param records     records read from it
 * @param quarantined bad lines sent to quarantine
 */
public record InputReport(String file, String sha256, long bytes, long records, long quarantined)
        implements Serializable {
}
