package dev.finetune4j.data;

import dev.finetune4j.data.augment.EdaConfig;
import dev.finetune4j.data.augment.Mixture;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings that used to be accepted and fail later (or never): NaN, absurd sizes, nulls. */
class SettingsValidationTest {
    @Test
    void notANumberIsNotARatioRateOrThreshold() {
        assertMessage(IllegalArgumentException.class, "split ratios must be >= 0",
                () -> SplitSpec.ratio(Double.NaN, 0.1, 0.1));
        assertMessage(IllegalArgumentException.class, "threshold must lie in (0, 1), found NaN",
                () -> NearDedupConfig.forThreshold(Double.NaN, 128));
        assertMessage(IllegalArgumentException.class, "EDA rates must lie in [0, 0.5]",
                () -> new EdaConfig(Double.NaN, 0.1, 0.1, 0.1, 4, 7));
        assertMessage(IllegalArgumentException.class, "weights must be finite and > 0", () -> new Mixture(
                List.of(Formats.jsonl(Path.of("a.jsonl")), Formats.jsonl(Path.of("b.jsonl"))),
                List.of(1.0, Double.POSITIVE_INFINITY), 1));
    }

    @Test
    void sizesThatWouldExhaustFilesOrMemoryAreRefused() {
        assertMessage(IllegalArgumentException.class, "k-fold needs 2 to 100 folds",
                () -> SplitSpec.kFold(1_000_000));
        assertMessage(IllegalArgumentException.class, "k-fold needs 2 to 100 folds, found 0", () -> SplitSpec.kFold(0));
        assertMessage(IllegalArgumentException.class, "copies must lie in 1..100",
                () -> new EdaConfig(0.1, 0.1, 0.1, 0.1, Integer.MAX_VALUE, 7));
    }

    /** The band search costs about numPerm ln(numPerm) x 400 pow calls, so the bound is checked before it runs. */
    @Test
    void aHugeNumPermIsRefusedAtOnceNamingTheBound() {
        assertTimeoutPreemptively(Duration.ofSeconds(3), () -> {
            assertMessage(IllegalArgumentException.class, "numPerm must lie in 1..8192, found 1000000000",
                    () -> NearDedupConfig.forThreshold(0.7, 1_000_000_000));
            assertMessage(IllegalArgumentException.class, "threshold must lie in (0, 1), found NaN",
                    () -> NearDedupConfig.forThreshold(Double.NaN, 1_000_000_000));
            assertMessage(IllegalArgumentException.class, "numPerm must lie in 1..", () -> new NearDedupConfig(
                    1_000_000_000, 1, 1, 0.7, NearDedupConfig.defaults().shingling(), 5, 3, 1, NearDedupConfig.Mode.DROP));
        });
        NearDedupConfig usual = NearDedupConfig.forThreshold(0.7, 128);
        assertEquals(14, usual.bands());
        assertEquals(9, usual.rows());
    }

    @Test
    void nullsAreNamedWhereTheyEnter() {
        assertMessage(NullPointerException.class, "strategy", () -> PiiRedactor.builder().strategy(null));
        assertMessage(NullPointerException.class, "text to redact", () -> PiiRedactor.defaults().redact(null));
        assertMessage(NullPointerException.class, "text to clean", () -> TextCleaner.defaults().clean(null));
    }

    private static void assertMessage(Class<? extends RuntimeException> type, String part, Executable call) {
        RuntimeException e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(part), e.getMessage());
    }
}
