package dev.finetune4j.data.pii;

/** Kinds of personal data the redactor finds; {@link #placeholder()} is what the placeholder strategy writes. */
public enum PiiType {
    EMAIL("[EMAIL]"),
    PHONE("[PHONE]"),
    ID_NUMBER("[ID_NUMBER]"),
    BANK_CARD("[BANK_CARD]"),
    IP("[IP]");

    private final String placeholder;

    PiiType(String placeholder) {
        this.placeholder = placeholder;
    }

    public String placeholder() {
        return placeholder;
    }
}
