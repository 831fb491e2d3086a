package dev.finetune4j.serve;

import java.util.List;

/**
 * Cuts streamed text at the first of OpenAI's {@code stop} strings, which may span several tokens: text that could
 * still be the start of a stop string is held back until the next piece tells, so no client ever sees part of a
 * stop string. Held text is at most the longest stop string, so each piece costs O(piece + stops) work.
 *
 * <p>Not thread-safe: one per generated sequence.
 */
final class StopStringMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    /**
     * @param stops the stop strings, none empty
     */
    StopStringMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Adds a piece of text and returns the text now safe to release (up to the stop string when one was found). */
    String append(String piece) {
        if (stopped) {
            return "";
        }
        pending.append(piece);
        int cut = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String out = release(cut);
            pending.setLength(0);
            return out;
        }
        return release(pending.length() - heldBack());
    }

    /** Whether a stop string was found; everything after it is dropped. */
    boolean stopped() {
        return stopped;
    }

    /** The text still held back, released at the end of generation (no stop string can complete any more). */
    String flush() {
        return stopped ? "" : release(pending.length());
    }

    /** The length of the longest end of {@code pending} that is a proper prefix of a stop string. */
    private int heldBack() {
        String text = pending.toString();
        int longest = 0;
        for (String stop : stops) {
            for (int n = Math.min(stop.length() - 1, text.length()); n > longest; n--) {
                if (text.regionMatches(text.length() - n, stop, 0, n)) {
                    longest = n;
                    break;
                }
            }
        }
        return longest;
    }

    private String release(int n) {
        String out = pending.substring(0, n);
        pending.delete(0, n);
        return out;
    }
}
