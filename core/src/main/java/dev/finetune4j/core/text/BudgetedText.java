package dev.finetune4j.core.text;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * A text that counts the characters read from it and stops the reader once a budget is spent: what bounds a regular
 * expression over untrusted text, since a pattern that backtracks exponentially reads the same characters again and
 * again. Sub-sequences share their parent's count, so a matcher cannot escape the budget by slicing.
 *
 * <pre>{@code
 * boolean found = pattern.matcher(new BudgetedText(text, 1_000_000,
 *         () -> new IllegalArgumentException("the pattern backtracks too much"))).find();
 * }</pre>
 *
 * <p>Not thread-safe: one matcher reads one instance.
 */
public final class BudgetedText implements CharSequence {
    private final String text;
    private final long budget;
    private final Supplier<? extends RuntimeException> overrun;
    private final long[] reads;

    /**
     * The text, with {@code budget} character reads to spend.
     *
     * @param text    the text
     * @param budget  how many characters may be read in all, sub-sequences included
     * @param overrun the exception thrown by the read past the budget (say which pattern, and what to do)
     */
    public BudgetedText(String text, long budget, Supplier<? extends RuntimeException> overrun) {
        this(text, budget, overrun, new long[1]);
    }

    private BudgetedText(String text, long budget, Supplier<? extends RuntimeException> overrun, long[] reads) {
        this.text = Objects.requireNonNull(text, "text");
        this.budget = budget;
        this.overrun = Objects.requireNonNull(overrun, "overrun");
        this.reads = reads;
    }

    /**
     * Characters read so far.
     *
     * @return the reads of this text and of its sub-sequences (and of the text they were taken from)
     */
    public long reads() {
        return reads[0];
    }

    @Override
    public char charAt(int index) {
        if (++reads[0] > budget) {
            throw overrun.get();
        }
        return text.charAt(index);
    }

    @Override
    public int length() {
        return text.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
        return new BudgetedText(text.substring(start, end), budget, overrun, reads);
    }

    @Override
    public String toString() {
        return text;
    }
}
