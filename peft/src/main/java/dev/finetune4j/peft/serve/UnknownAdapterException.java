package dev.finetune4j.peft.serve;

/** Thrown by {@link InferenceEngine#submit} for a request naming an adapter that is not loaded. */
public final class UnknownAdapterException extends RuntimeException {
    /** The name the request gave. */
    private final String adapter;

    /**
     * A refusal of a request for an adapter that is not loaded.
     *
     * @param adapter the name the request gave
     * @param loaded  the names that are loaded, for the message
     */
    public UnknownAdapterException(String adapter, Iterable<String> loaded) {
        super("no adapter named '" + adapter + "' is loaded (loaded: " + String.join(", ", loaded)
                + "); load it with loadAdapter(name, folder) or pass null for the base model");
        this.adapter = adapter;
    }

    /**
     * The adapter name the request gave.
     *
     * @return the unknown name
     */
    public String adapter() {
        return adapter;
    }
}
