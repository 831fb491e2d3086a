package dev.finetune4j.samples.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WorkProgressTest {
    private long now = TimeUnit.SECONDS.toNanos(1_000);

    @Test
    void theFirstBatchThenEveryTenSecondsThenTheEnd() {
        StringWriter text = new StringWriter();
        WorkProgress progress = new WorkProgress(new PrintWriter(text),
                (done, total) -> "answered " + done + " of " + total + " prompts", () -> now);
        now += TimeUnit.SECONDS.toNanos(3);
        progress.reached(8, 100);   // 3 s for 8: 92 left at 0.375 s each = 34.5 s
        now += TimeUnit.SECONDS.toNanos(9);
        progress.reached(16, 100);  // 9 s after the last line: quiet
        now += TimeUnit.SECONDS.toNanos(1);
        progress.reached(24, 100);  // 10 s after it: 13 s for 24, 76 left = 41.17 s
        now += TimeUnit.SECONDS.toNanos(2);
        progress.reached(100, 100); // the end is always reported
        assertEquals("""
                answered 8 of 100 prompts in 0:03, about 0:34 left
                answered 24 of 100 prompts in 0:13, about 0:41 left
                answered 100 of 100 prompts in 0:15
                """, text.toString().replace(System.lineSeparator(), "\n"));
    }
}
