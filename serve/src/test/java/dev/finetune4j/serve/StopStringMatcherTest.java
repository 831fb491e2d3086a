package dev.finetune4j.serve;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stop strings cut the text where they start, also across pieces, and no part of one is ever released. */
class StopStringMatcherTest {

    @Test
    void aStopStringSpanningPiecesIsHeldBackThenCut() {
        StopStringMatcher m = new StopStringMatcher(List.of("\nUser:"));
        assertEquals("Hi there", m.append("Hi there\nUs")); // "\nUs" could start the stop string
        assertFalse(m.stopped());
        assertEquals("", m.append("er"));
        assertEquals("", m.append(": more"));
        assertTrue(m.stopped());
        assertEquals("", m.append("after the stop"));
        assertEquals("", m.flush());
    }

    @Test
    void heldTextThatTurnsOutNotToBeAStopStringIsReleased() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"));
        assertEquals("the ", m.append("the EN"));
        assertEquals("ENTRY ", m.append("TRY "));
        assertEquals("", m.append("E"));
        assertEquals("E", m.flush()); // generation ended: the held "E" can no longer become "END"
        assertFalse(m.stopped());
    }

    @Test
    void theEarliestOfSeveralStopStringsWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("world", "lo"));
        assertEquals("hel", m.append("hello world"));
        assertTrue(m.stopped());
    }

    @Test
    void withoutStopStringsEverythingIsReleasedAtOnce() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertEquals("abc", m.append("abc"));
        assertEquals("", m.flush());
    }

    @Test
    void aLongAdversarialStreamStaysLinear() {
        // the held-back end never grows past the longest stop string, so 100k one-character pieces stay cheap
        StopStringMatcher m = new StopStringMatcher(List.of("a".repeat(40) + "b", "aaab"));
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(2), () -> {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < 100_000; i++) {
                out.append(m.append("a"));
            }
            out.append(m.flush());
            assertEquals(100_000, out.length());
        });
    }
}
