package dev.finetune4j.peft;

/**
 * The handle {@link PeftModel#disableAdapter()} returns: the adapter stays off until it is closed. Closing it
 * throws nothing, so {@code try (var off = m.disableAdapter()) { ... }} needs no {@code catch (Exception)}.
 */
public interface DisabledAdapter extends AutoCloseable {

    /** Switches the adapter back on (once the outermost of nested handles closes); closing twice does nothing. */
    @Override
    void close();
}
