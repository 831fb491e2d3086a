package dev.finetune4j.core.models.decoder;

import java.util.Objects;

/**
 * The tokens the expert now running multiplies, told by their batch rows: a layer inside an expert sees its tokens
 * gathered from every row, (N, C), so the leading index of its input is no longer the batch's row, and a layer that
 * treats rows differently (a server giving each request its own adapter) asks here which row each of them comes
 * from. {@link SparseMoeBlock} opens one around each expert's call; outside an expert {@link #current()} is null.
 *
 * <p>Thread safety: confined to the thread that runs the forward pass, as the pass is.
 */
public final class ExpertTokens implements AutoCloseable {
    private static final ThreadLocal<ExpertTokens> CURRENT = new ThreadLocal<>();

    private final long[] tokens;
    private final int from;
    private final int to;
    private final int tokensPerRow;

    private ExpertTokens(long[] tokens, int from, int to, int tokensPerRow) {
        this.tokens = tokens;
        this.from = from;
        this.to = to;
        this.tokensPerRow = tokensPerRow;
    }

    /**
     * Tells the layers of the expert about to run which tokens it multiplies, until {@link #close()}.
     *
     * @param tokens the mixture's flattened token indices grouped by expert ({@link ExpertRouting#tokensByExpert})
     * @param from the expert's first entry in {@code tokens}
     * @param to one past its last
     * @param tokensPerRow the tokens of each row of the mixture's input (its T; 1 for an input of rank 2)
     * @return the context to close once the expert has run
     */
    static ExpertTokens open(long[] tokens, int from, int to, int tokensPerRow) {
        ExpertTokens t = new ExpertTokens(tokens, from, to, tokensPerRow);
        CURRENT.set(t);
        return t;
    }

    /**
     * The tokens of the expert running on this thread.
     *
     * @return them, or null outside an expert
     */
    public static ExpertTokens current() {
        return CURRENT.get();
    }

    /**
     * How many tokens the expert multiplies: the leading size of its layers' inputs.
     *
     * @return N
     */
    public int size() {
        return to - from;
    }

    /**
     * The batch row (the leading index of the mixture's input) that the expert's token {@code i} comes from; rows
     * never decrease with {@code i}, as the tokens within an expert are in ascending order.
     *
     * @param i the token's index among the expert's, below {@link #size()}
     * @return its row
     */
    public int row(int i) {
        return Math.toIntExact(tokens[from + Objects.checkIndex(i, size())] / tokensPerRow);
    }

    /** Ends the expert's call: the thread is outside any expert again. */
    @Override
    public void close() {
        CURRENT.remove();
    }
}
