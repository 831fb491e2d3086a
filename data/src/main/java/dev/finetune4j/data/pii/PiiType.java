package dev.finetune4j.data.pii;

/** Kinds of personal data the redactor finds; {@link #placeholder()} is what the placeholder strategy writes. */
public enum PiiType {
    /** E-mail addresses. */
    EMAIL("[EMAIL]"),
    /** Phone numbers: Chinese mobile and landline numbers, and international numbers in E.164 form. */
    PHONE("[PHONE]"),
    /** Chinese resident identity numbers with a valid check character and birth date. */
    ID_NUMBER("[ID_NUMBER]"),
    /** Bank card numbers that pass the Luhn check. */
    BANK_CARD("[BANK_CARD]"),
    /** IPv4 and IPv6 addresses. */
    IP("[IP]");

    private final String placeholder;

    PiiType(String placeholder) {
        this.placeholder = placeholder;
    }

    /**
     * The text the placeholder strategy writes for this type.
     *
     * @return e.g. {@code [EMAIL]}
     */
    public String placeholder() {
        return placeholder;
    }
}
