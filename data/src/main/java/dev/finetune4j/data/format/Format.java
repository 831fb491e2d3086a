package dev.finetune4j.data.format;

/** File formats for reading and writing records. All are UTF-8; a byte-order mark is accepted on input. */
public enum Format {
    /** One JSON object per line. */
    JSONL(".jsonl"),
    /** One JSON array of objects. */
    JSON(".json"),
    /** RFC 4180 comma-separated values with a header row; nested values are JSON text in a cell. */
    CSV(".csv");

    private final String extension;

    Format(String extension) {
        this.extension = extension;
    }

    /**
     * The file extension with its dot.
     *
     * @return e.g. {@code .jsonl}
     */
    public String extension() {
        return extension;
    }
}
