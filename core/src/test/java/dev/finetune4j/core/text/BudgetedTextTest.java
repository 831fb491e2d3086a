package dev.finetune4j.core.text;

import org.junit.jupiter.api.Test;

import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BudgetedTextTest {
    @Test
    void readsAreCountedAcrossSubSequencesAndTheOverrunIsThrown() {
        IllegalStateException stop = new IllegalStateException("spent");
        BudgetedText text = new BudgetedText("abcdef", 5, () -> stop);
        CharSequence tail = text.subSequence(2, 6);
        assertEquals('c', tail.charAt(0));
        assertEquals('a', text.charAt(0));
        assertEquals(2, text.reads());
        assertEquals("cdef", tail.toString());
        assertEquals('d', tail.charAt(1));
        assertEquals('e', tail.charAt(2));
        assertEquals('b', text.charAt(1));
        assertSame(stop, assertThrows(IllegalStateException.class, () -> tail.charAt(3)), "the sixth read");
    }

    @Test
    void aLinearPatternFitsItsBudgetAndABacktrackingOneDoesNot() {
        String hostile = "a".repeat(40) + "b";
        assertTrue(Pattern.compile("a++b").matcher(new BudgetedText(hostile, 1_000, IllegalStateException::new)).find());
        // NOTE: Java memoises the textbook (a|aa)+ and (a+)+; nested .* repetitions still backtrack exponentially
        assertThrows(IllegalStateException.class, () -> Pattern.compile("^(.*a){12}$")
                .matcher(new BudgetedText(hostile, 1_000_000, IllegalStateException::new)).find());
    }
}
