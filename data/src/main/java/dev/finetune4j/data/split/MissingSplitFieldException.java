package dev.finetune4j.data.split;

/**
 * A record lacks the field that its split is stratified, grouped or keyed by ({@link SplitSpec#stratifyField},
 * {@link SplitSpec#groupField}, {@link SplitSpec#keyField}). An {@link IllegalArgumentException} because the cause
 * is the data or the split's settings; {@link #field} lets a caller name the setting as its user wrote it.
 */
public final class MissingSplitFieldException extends IllegalArgumentException {
    /** The field the split needs (serialized with the exception). */
    private final String field;

    /**
     * An exception naming the record and the field.
     *
     * @param recordId the record's id (file and line)
     * @param field    the field the split needs
     */
    public MissingSplitFieldException(String recordId, String field) {
        super("record " + recordId + " has no field '" + field + "', which the split needs; add it to every record "
                + "or split by another field");
        this.field = field;
    }

    /**
     * The field the split needs.
     *
     * @return its name
     */
    public String field() {
        return field;
    }
}
