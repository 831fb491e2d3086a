package dev.finetune4j.samples.cli;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.peft.train.PreferenceDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pair rows ({@code prompt}, {@code chosen}, {@code rejected}) with TRL's optional {@code margin} for reward models. */
class PreferenceRowsTest {
    @TempDir
    Path dir;

    private final TrainData data = new TrainData(new ByteLevelTokenizer(), "Q: {prompt}\nA: ", 64,
            new PrintWriter(new StringWriter()));

    @Test
    void theMarginIsReadWhenGivenAndZeroOtherwise() throws Exception {
        Path rows = Files.writeString(dir.resolve("pairs.jsonl"), """
                {"prompt": "p", "chosen": "good", "rejected": "bad", "margin": 2.5}
                {"prompt": "p", "chosen": "good", "rejected": "bad"}
                {"prompt": "p", "chosen": "good", "rejected": "bad", "margin": -1}
                """);
        PreferenceDataset pairs = data.dpo(rows);
        assertEquals(2.5, pairs.get(0).margin());
        assertEquals(0, pairs.get(1).margin());
        assertEquals(-1, pairs.get(2).margin());
    }

    @Test
    void aMarginThatIsNoNumberNamesTheLine() throws Exception {
        Path rows = Files.writeString(dir.resolve("pairs.jsonl"), """
                {"prompt": "p", "chosen": "good", "rejected": "bad"}
                {"prompt": "p", "chosen": "good", "rejected": "bad", "margin": "high"}
                """);
        BadInputException e = assertThrows(BadInputException.class, () -> data.dpo(rows));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("'margin' must be a finite number"),
                e.getMessage());
    }
}
