package dev.finetune4j.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A task's lazy iterator over a stream it owns: one item at a time from {@link #advance()}, so that a task never
 * holds its whole file; the stream is closed at its end, or when the task ends first (a failure, a {@code take}).
 *
 * @param <T> the items
 */
abstract class ClosingIterator<T> implements Iterator<T> {
    private final Closeable stream;
    private final String source;
    private T next;
    private boolean done;

    /**
     * An iterator that closes {@code stream} at its end or when the current task ends.
     *
     * @param stream what to close at the end
     * @param source the file read, for error messages
     */
    ClosingIterator(Closeable stream, String source) {
        this.stream = stream;
        this.source = source;
        TaskContext task = TaskContext.get();
        if (task != null) {
            task.addTaskCompletionListener((TaskCompletionListener) ctx -> closeQuietly());
        }
    }

    /**
     * The next item.
     *
     * @return the item, or {@code null} at the end
     * @throws IOException when the stream cannot be read
     */
    protected abstract T advance() throws IOException;

    @Override
    public final boolean hasNext() {
        if (next == null && !done) {
            try {
                next = advance();
                if (next == null) {
                    done = true;
                    stream.close();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + source + ": " + e.getMessage(), e);
            }
        }
        return next != null;
    }

    @Override
    public final T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        T item = next;
        next = null;
        return item;
    }

    private void closeQuietly() {
        try {
            stream.close();
        } catch (IOException e) {
            // NOTE: the task is over; a failure to close a read-only stream loses nothing
        }
    }
}
